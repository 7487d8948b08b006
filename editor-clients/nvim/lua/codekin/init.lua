--- codekin for Neovim (>= 0.11): registers the codekin language server with vim.lsp.config and
--- vim.lsp.enable, handles its lens command and keeps its code lenses current.
local config = require("codekin.config")

local M = {}

M.did_setup = false

local function show_similar(command, ctx)
  require("codekin.lens").show_similar(command, ctx)
end

--- The vim.lsp.config table for the server, from the plugin's options.
function M.lsp_config(options)
  options = options or config.options
  local settings = options.settings or {}
  local lsp = vim.tbl_deep_extend("force", {
    cmd = config.cmd(),
    filetypes = options.filetypes,
    root_markers = options.root_markers,
    init_options = settings,
    settings = { codekin = settings },
  }, options.lsp or {})
  lsp.commands = vim.tbl_extend("force", { ["codekin.showSimilar"] = show_similar }, lsp.commands or {})
  return lsp
end

local function set_keymaps(keymaps)
  if type(keymaps) ~= "table" then
    return
  end
  for name, lhs in pairs(keymaps) do
    if lhs then
      vim.keymap.set("n", lhs, "<Plug>(codekin-" .. name .. ")", { desc = "codekin: " .. name })
    end
  end
end

--- Configures and enables the server. `opts`: see `:help codekin-setup`.
function M.setup(opts)
  if vim.fn.has("nvim-0.11") == 0 then
    vim.notify("codekin needs Neovim 0.11 or newer (vim.lsp.config)", vim.log.levels.ERROR)
    return
  end
  local options = config.merge(opts)
  local lsp = M.lsp_config(options)
  if not lsp.cmd then
    vim.notify("codekin: no server found (`codekin` on PATH or a .venv/bin/codekin); set `cmd`; "
      .. "see :checkhealth codekin", vim.log.levels.WARN)
    return
  end
  vim.lsp.config("codekin", lsp)
  vim.lsp.enable("codekin")
  -- For clients started outside this config (another plugin, vim.lsp.start) as well.
  vim.lsp.commands["codekin.showSimilar"] = vim.lsp.commands["codekin.showSimilar"] or show_similar
  if options.codelens then
    require("codekin.lens").setup()
  end
  set_keymaps(options.keymaps)
  M.did_setup = true
end

return M
