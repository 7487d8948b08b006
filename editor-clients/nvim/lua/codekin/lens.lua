--- Code lenses: the lens command codekin.showSimilar, and refreshing lenses when they may change.
--- Neovim 0.11 has no workspace/codeLens/refresh, so the plugin asks again on the events that matter.
local client_mod = require("codekin.client")
local pickers = require("codekin.pickers")

local M = {}

M.group = vim.api.nvim_create_augroup("codekin.lens", { clear = true })

--- The handler of `codekin.showSimilar` (`arguments = {uri, position, locations}`): the locations
--- in the quickfix list (or the configured picker), titled with the lens' own title.
function M.show_similar(command, ctx)
  local locations = (command.arguments or {})[3] or {}
  local client = ctx and ctx.client_id and vim.lsp.get_client_by_id(ctx.client_id)
  local encoding = client and client.offset_encoding or "utf-16"
  local items = {}
  for _, location in ipairs(locations) do
    local item = pickers.item(location, encoding, nil)
    if item then
      item.text = vim.trim(item.text or "")
      items[#items + 1] = item
    end
  end
  pickers.show("codekin: " .. (command.title or "similar code"), items)
end

local function has_new_api()
  return type(vim.lsp.codelens.enable) == "function"
end

--- Asks for the lenses of `bufnr` again if a codekin client is attached to it.
function M.refresh(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  local _, attached = client_mod.get(bufnr)
  if not attached then
    return
  end
  if has_new_api() then
    -- Nvim versions with vim.lsp.codelens.enable keep lenses current themselves (the server sends
    -- workspace/codeLens/refresh to clients that support it).
    vim.lsp.codelens.enable(true, { bufnr = bufnr })
  else
    vim.lsp.codelens.refresh({ bufnr = bufnr })
  end
end

--- Every loaded buffer attached to the client `client_id`.
local function attached_buffers(client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  if not client then
    return {}
  end
  local buffers = {}
  for bufnr in pairs(client.attached_buffers or {}) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      buffers[#buffers + 1] = bufnr
    end
  end
  return buffers
end

local function is_codekin(client_id)
  local client = client_id and vim.lsp.get_client_by_id(client_id)
  return client ~= nil and client.name == client_mod.name
end

--- Installs the autocommands (idempotent).
function M.setup()
  vim.api.nvim_clear_autocmds({ group = M.group })
  vim.api.nvim_create_autocmd("LspAttach", {
    group = M.group,
    callback = function(ev)
      if is_codekin(ev.data and ev.data.client_id) then
        M.refresh(ev.buf)
      end
    end,
  })
  vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "BufWritePost" }, {
    group = M.group,
    callback = function(ev)
      M.refresh(ev.buf)
    end,
  })
  vim.api.nvim_create_autocmd("LspProgress", {
    group = M.group,
    pattern = "end",
    callback = function(ev)
      local client_id = ev.data and ev.data.client_id
      if is_codekin(client_id) then
        for _, bufnr in ipairs(attached_buffers(client_id)) do
          M.refresh(bufnr)
        end
      end
    end,
  })
end

return M
