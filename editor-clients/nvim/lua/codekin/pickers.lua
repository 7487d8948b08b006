--- Showing lists of codekin results: the quickfix list, vim.ui.select, Telescope or fzf-lua.
local config = require("codekin.config")

local M = {}

--- One quickfix item for a server result `{uri, range, ...}`, with `text`; positions are
--- converted from the client's encoding. Done one by one: locations_to_items sorts by file.
function M.item(result, encoding, text)
  local item = vim.lsp.util.locations_to_items({ { uri = result.uri, range = result.range } }, encoding)[1]
  if not item then
    return nil
  end
  local stop = result.range and result.range["end"]
  if stop and stop.character == 0 and stop.line > result.range.start.line then
    -- Whole lines: the range ends at the start of the next line; show the last line itself.
    item.end_lnum, item.end_col = stop.line, 0
  end
  if text ~= nil then
    item.text = text
  end
  item.user_data = result
  return item
end

--- "function polygon_area  [renamed copy, 0.98]  geometry/shapes.py"-style text of a result.
function M.describe(result, prefix)
  local parts = {}
  if prefix then
    parts[#parts + 1] = prefix
  end
  parts[#parts + 1] = (result.kind and result.kind ~= vim.NIL) and (result.kind .. " ") or ""
  parts[#parts] = parts[#parts] .. (result.name or "?")
  local label = result.clone
  if label == nil or label == vim.NIL then
    label = "similar"
  else
    label = label .. " copy"
  end
  if type(result.score) == "number" then
    label = string.format("%s %.2f", label, result.score)
  end
  parts[#parts + 1] = "[" .. label .. "]"
  return table.concat(parts, " ")
end

local function jump(item)
  if not item then
    return
  end
  vim.cmd("normal! m'")
  vim.cmd.edit(vim.fn.fnameescape(item.filename))
  vim.api.nvim_win_set_cursor(0, { item.lnum, math.max(item.col - 1, 0) })
end
M.jump = jump

local function display(item)
  local name = vim.fn.fnamemodify(item.filename, ":~:.")
  return string.format("%s:%d: %s", name, item.lnum, item.text)
end
M.display = display

local function quickfix(title, items, opts)
  vim.fn.setqflist({}, " ", { title = title, items = items })
  if config.options.open_quickfix and opts.open ~= false then
    vim.cmd("botright copen")
  end
end

local function select(title, items)
  vim.ui.select(items, { prompt = title, format_item = display }, jump)
end

local function telescope(title, items)
  local pickers = require("telescope.pickers")
  local finders = require("telescope.finders")
  local conf = require("telescope.config").values
  pickers
    .new({}, {
      prompt_title = title,
      finder = finders.new_table({
        results = items,
        entry_maker = function(item)
          return {
            value = item,
            display = display(item),
            ordinal = item.text .. " " .. item.filename,
            filename = item.filename,
            lnum = item.lnum,
            col = item.col,
          }
        end,
      }),
      sorter = conf.generic_sorter({}),
      previewer = conf.qflist_previewer({}),
    })
    :find()
end

local function fzf_lua(title, items)
  local lines, by_line = {}, {}
  for index, item in ipairs(items) do
    local line = string.format("%d\t%s", index, display(item))
    lines[#lines + 1] = line
    by_line[line] = item
  end
  require("fzf-lua").fzf_exec(lines, {
    prompt = title .. "> ",
    fzf_opts = { ["--delimiter"] = "\t", ["--with-nth"] = "2..", ["--no-sort"] = true },
    actions = {
      default = function(selected)
        jump(by_line[selected[1]])
      end,
    },
  })
end

M.backends = { quickfix = quickfix, select = select, telescope = telescope, ["fzf-lua"] = fzf_lua }
M.modules = { telescope = "telescope", ["fzf-lua"] = "fzf-lua" }

--- Whether picker `name` can be used (its plugin is installed).
function M.available(name)
  local module = M.modules[name]
  if not module then
    return M.backends[name] ~= nil
  end
  return (pcall(require, module))
end

--- Shows `items` (quickfix items, in the server's order) with the configured picker.
--- `opts.open = false`: fill the quickfix list without opening its window.
function M.show(title, items, picker, opts)
  opts = opts or {}
  picker = picker or config.options.picker
  if not M.available(picker) then
    picker = "quickfix"
  end
  if #items == 0 then
    if picker == "quickfix" then
      vim.fn.setqflist({}, " ", { title = title, items = {} })
    end
    vim.notify("codekin: " .. title .. ": nothing found", vim.log.levels.INFO)
    return
  end
  M.backends[picker](title, items, opts)
end

return M
