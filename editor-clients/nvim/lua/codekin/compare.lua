--- :Codekin compare: the symbol under the cursor beside a similar one, as a diff with its renames.
local client_mod = require("codekin.client")
local config = require("codekin.config")

local M = {}

local counter = 0

--- The lines of `range` (whole lines, end exclusive at character 0) of the file at `uri`.
function M.range_lines(uri, range)
  local bufnr = vim.uri_to_bufnr(uri)
  vim.fn.bufload(bufnr)
  local last = range["end"].line
  if range["end"].character > 0 then
    last = last + 1
  end
  return vim.api.nvim_buf_get_lines(bufnr, range.start.line, last, false), bufnr
end

local function scratch(name, lines, filetype)
  counter = counter + 1
  local bufnr = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.api.nvim_buf_set_name(bufnr, string.format("codekin://%d/%s", counter, name))
  vim.bo[bufnr].bufhidden = "wipe"
  vim.bo[bufnr].modifiable = false
  if filetype and filetype ~= "" then
    vim.bo[bufnr].filetype = filetype
  end
  return bufnr
end

local function renames_text(list)
  local parts = {}
  for _, r in ipairs(list or {}) do
    parts[#parts + 1] = string.format("%s → %s (%d×)", r.before, r.after, r.count or 1)
  end
  return #parts > 0 and table.concat(parts, ", ") or "none"
end

--- The summary lines of a codekin.compareSimilar answer.
function M.summary(answer)
  local lines = {
    string.format("codekin compare: %s ↔ %s  similarity %.2f", answer.a.name or "?", answer.b.name or "?",
      answer.similarity or 0),
    "renames: " .. renames_text(answer.renames),
    "values:  " .. renames_text(answer.values),
    string.format("only in %s: %d line(s), only in %s: %d line(s), changed: %d",
      answer.a.name or "a", #(answer.onlyInA or {}), answer.b.name or "b", #(answer.onlyInB or {}),
      #(answer.changed or {})),
  }
  return lines
end

local function side_name(side)
  local path = vim.fn.fnamemodify(vim.uri_to_fname(side.uri), ":~:.")
  return string.format("%s:%d %s", path, side.range.start.line + 1, side.name or "")
end

local function open_diff(answer)
  local lines_a, source_a = M.range_lines(answer.a.uri, answer.a.range)
  local lines_b = M.range_lines(answer.b.uri, answer.b.range)
  local filetype = vim.bo[source_a].filetype
  vim.cmd("tabnew")
  local buf_a = scratch(side_name(answer.a), lines_a, filetype)
  vim.api.nvim_win_set_buf(0, buf_a)
  vim.cmd("diffthis")
  vim.cmd("rightbelow vsplit")
  local buf_b = scratch(side_name(answer.b), lines_b, filetype)
  vim.api.nvim_win_set_buf(0, buf_b)
  vim.cmd("diffthis")
  local summary = scratch("summary", M.summary(answer), "")
  vim.cmd("botright split")
  vim.api.nvim_win_set_buf(0, summary)
  vim.api.nvim_win_set_height(0, #M.summary(answer))
  vim.cmd("wincmd p")
  return { a = buf_a, b = buf_b, summary = summary }
end

local function open_unified(answer)
  local lines = M.summary(answer)
  lines[#lines + 1] = ""
  local diff = vim.split(answer.diff or "", "\n", { plain = true, trimempty = true })
  if #diff == 0 then
    diff = { "(no difference beyond the renames and values)" }
  end
  vim.list_extend(lines, diff)
  vim.cmd("botright new")
  local bufnr = scratch("diff", lines, "diff")
  vim.api.nvim_win_set_buf(0, bufnr)
  return { summary = bufnr }
end

--- Shows a codekin.compareSimilar answer in the configured view; returns the buffers made.
function M.show(answer, view)
  view = view or config.options.compare
  if view == "unified" then
    return open_unified(answer)
  end
  return open_diff(answer)
end

local function request_compare(client, argument, other, view)
  local params = { uri = argument.uri, position = argument.position, other = other }
  client_mod.execute(client, "codekin.compareSimilar", params, function(answer)
    M.last = M.show(answer, view)
  end)
end

local function choose(results, pick, on_choice)
  if not pick then
    return on_choice(results[1])
  end
  vim.ui.select(results, {
    prompt = "codekin: compare with",
    format_item = function(result)
      local path = vim.fn.fnamemodify(vim.uri_to_fname(result.uri), ":~:.")
      return string.format("%s (%s, %s %.2f)", result.name or "?", path, result.clone ~= vim.NIL
        and result.clone or "similar", result.score or 0)
    end,
  }, on_choice)
end

--- Compares the symbol under the cursor with `opts.other` ({uri, range}), else with the first
--- similar result, or with one chosen through vim.ui.select when `opts.pick`.
function M.compare(opts)
  opts = opts or {}
  local client = client_mod.require_attached()
  if not client then
    return
  end
  local argument = client_mod.position_argument(client)
  if opts.other then
    return request_compare(client, argument, opts.other, opts.view)
  end
  client_mod.execute(client, "codekin.findSimilar", argument, function(results)
    if not results or #results == 0 then
      client_mod.notify("nothing similar to compare with", vim.log.levels.WARN)
      return
    end
    choose(results, opts.pick, function(chosen)
      if chosen then
        request_compare(client, argument, { uri = chosen.uri, range = chosen.range }, opts.view)
      end
    end)
  end)
end

return M
