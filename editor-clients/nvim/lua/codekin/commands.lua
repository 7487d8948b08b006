--- The :Codekin subcommands: each asks the server and shows the answer.
local client_mod = require("codekin.client")
local pickers = require("codekin.pickers")

local M = {}

local function items_of(results, encoding, describe)
  local items = {}
  for index, result in ipairs(results or {}) do
    local item = pickers.item(result, encoding, describe(result, index))
    if item then
      items[#items + 1] = item
    end
  end
  return items
end

local function plain(result)
  return pickers.describe(result)
end

--- Code like the symbol under the cursor, its copies first.
function M.similar(opts)
  opts = opts or {}
  local client = client_mod.require_attached()
  if not client then
    return
  end
  local argument = client_mod.position_argument(client)
  client_mod.execute(client, "codekin.findSimilar", argument, function(results)
    local title = "codekin: similar to " .. vim.fn.expand("<cword>")
    pickers.show(title, items_of(results, client.offset_encoding, plain), opts.picker)
  end)
end

--- Natural-language search over every indexed folder.
function M.search(query, opts)
  opts = opts or {}
  if not query or vim.trim(query) == "" then
    vim.ui.input({ prompt = "codekin search: " }, function(input)
      if input and vim.trim(input) ~= "" then
        M.search(input, opts)
      end
    end)
    return
  end
  local client = client_mod.get()
  if not client then
    client_mod.notify("no codekin server is running", vim.log.levels.ERROR)
    return
  end
  client_mod.execute(client, "codekin.searchCode", { query = query }, function(results)
    local items = items_of(results, client.offset_encoding, plain)
    pickers.show("codekin: search " .. query, items, opts.picker)
  end)
end

--- The members of a clone class as items: "#1 renamed 0.99: function polygon_area".
local function class_items(classes, encoding)
  local items = {}
  for number, class in ipairs(classes or {}) do
    local head = string.format("#%d %s %.2f", number, tostring(class.kind or "clone"), class.score or 0)
    for _, member in ipairs(class.members or {}) do
      local text = string.format("%s: %s %s", head, member.kind or "", member.name or "?")
      if type(member.clone) == "string" then
        text = text .. " [" .. member.clone .. "]"
      end
      local item = pickers.item(member, encoding, text)
      if item then
        items[#items + 1] = item
      end
    end
  end
  return items
end
M.class_items = class_items

--- Clone classes of the workspace (`scope = "file"`: only those touching the current file).
function M.duplicates(scope, opts)
  opts = opts or {}
  local client = client_mod.get()
  if not client then
    client_mod.notify("no codekin server is running", vim.log.levels.ERROR)
    return
  end
  local argument = nil
  if scope == "file" or scope == "%" then
    argument = { uri = vim.uri_from_bufnr(0) }
  end
  client_mod.execute(client, "codekin.findDuplicates", argument, function(classes)
    local title = string.format("codekin: %d duplicate classes", #(classes or {}))
    pickers.show(title, class_items(classes, client.offset_encoding), opts.picker)
  end)
end

local function doc_lines(results)
  local lines = {}
  for _, result in ipairs(results) do
    local where = vim.fn.fnamemodify(vim.uri_to_fname(result.uri), ":~:.")
    lines[#lines + 1] = string.format("## %s (%s, %.2f)", result.name or "?", where, result.score or 0)
    vim.list_extend(lines, vim.split(result.text or "", "\n", { plain = true }))
    lines[#lines + 1] = ""
  end
  return lines
end

--- Documentation for the symbol under the cursor: its text in a floating window, the units in the
--- quickfix list (not opened); `opts.preview = false`: the units in the picker only.
function M.docs(opts)
  opts = opts or {}
  local client = client_mod.require_attached()
  if not client then
    return
  end
  local argument = client_mod.position_argument(client)
  local title = "codekin: docs for " .. vim.fn.expand("<cword>")
  client_mod.execute(client, "codekin.lookupDocs", argument, function(results)
    results = results or {}
    local items = items_of(results, client.offset_encoding, plain)
    if #results == 0 or opts.preview == false then
      return pickers.show(title, items, opts.picker)
    end
    pickers.show(title, items, "quickfix", { open = false })
    local float = { border = "rounded", focus_id = "codekin.docs" }
    vim.lsp.util.open_floating_preview(doc_lines(results), "markdown", float)
  end)
end

--- Lines describing a codekin.status answer.
function M.status_lines(status)
  local function value(v)
    return (v == nil or v == vim.NIL) and "-" or tostring(v)
  end
  local lines = {
    "model: " .. value(status.model) .. " (" .. value(status.reason) .. ")",
    "device: " .. value(status.device) .. ", worker: " .. value(status.worker),
    string.format("files: %s, units: %s, pending: %s", value(status.files), value(status.units),
      value(status.pending)),
    "indexing: " .. value(status.indexing) .. ", last update: " .. value(status.lastUpdate),
    "index: " .. value(status.indexPath),
  }
  if status.problem and status.problem ~= vim.NIL then
    lines[#lines + 1] = "problem: " .. value(status.problem)
  end
  return lines
end

function M.status()
  local client = client_mod.get()
  if not client then
    client_mod.notify("no codekin server is running", vim.log.levels.WARN)
    return
  end
  client_mod.execute(client, "codekin.status", nil, function(status)
    client_mod.notify(table.concat(M.status_lines(status or {}), "\n"))
  end)
end

--- Re-index every folder (`scope = "file"`: the current file's folder).
function M.reindex(scope)
  local client = client_mod.get()
  if not client then
    client_mod.notify("no codekin server is running", vim.log.levels.ERROR)
    return
  end
  local argument = (scope == "file" or scope == "%") and { uri = vim.uri_from_bufnr(0) } or nil
  client_mod.execute(client, "codekin.reindex", argument, function(result)
    local scheduled = result and result.scheduled or {}
    client_mod.notify(string.format("re-indexing %d folder(s)", #scheduled))
  end)
end

return M
