--- :checkhealth codekin
local M = {}

local health = vim.health

local function check_neovim()
  if vim.fn.has("nvim-0.11") == 1 then
    local v = vim.version()
    health.ok(string.format("Neovim %d.%d.%d (0.11 or newer: vim.lsp.config)", v.major, v.minor, v.patch))
  else
    health.error("Neovim 0.11 or newer is needed (vim.lsp.config, vim.lsp.enable)")
  end
end

local function check_setup()
  if require("codekin").did_setup then
    health.ok("require('codekin').setup() was called; the server is enabled for: "
      .. table.concat(require("codekin.config").options.filetypes, ", "))
  else
    health.warn("require('codekin').setup() has not been called", {
      "Add `require('codekin').setup({})` to your config, or `opts = {}` to the lazy.nvim spec",
    })
  end
end

local function server_version(cmd)
  local ask = { cmd[1], "--version" }
  if cmd[2] == "-m" then -- `python -m lsp_server`: the module has no --version
    ask = { cmd[1], "-c", "import lsp_server; print('codekin', lsp_server.__version__)" }
  end
  local ok, job = pcall(vim.system, ask, { text = true })
  if not ok then
    return nil
  end
  local done = job:wait(10000)
  if done.code ~= 0 then
    return nil
  end
  return vim.trim((done.stdout or "") .. (done.stderr or ""))
end

local function check_executable()
  local cmd = require("codekin.config").cmd()
  if not cmd then
    health.error("no codekin server executable found", {
      "Install codekin (`pip install -e .` in its checkout) so that `codekin` is on PATH,",
      "or set `cmd = { '/path/to/codekin/.venv/bin/codekin', 'serve', '--stdio' }` in setup()",
    })
    return
  end
  local exe = vim.fn.exepath(cmd[1])
  if exe == "" then
    health.error("server command not executable: " .. cmd[1], { "Fix `cmd` in setup()" })
    return
  end
  health.ok("server command: " .. table.concat(cmd, " ") .. " (" .. exe .. ")")
  local version = server_version(cmd)
  if version and version ~= "" then
    health.ok("server version: " .. version)
  else
    health.warn("`" .. cmd[1] .. " --version` gave no version", { "Check that the command is codekin's" })
  end
end

local function present(value)
  return value ~= nil and value ~= vim.NIL
end

local function report_index(status)
  if status.indexing then
    health.info("indexing is running; answers are partial until it ends")
  elseif (status.units or 0) == 0 then
    health.warn("the index is empty", { "Run :Codekin reindex, check the `include`/`exclude` settings" })
  else
    health.ok(string.format("index ready: %d files, %d units", status.files or 0, status.units or 0))
  end
end

local function report_status(status)
  local lines = require("codekin.commands").status_lines(status)
  if present(status.model) then
    health.ok(lines[1])
  else
    health.warn("no model loaded: " .. tostring(status.reason or status.problem), {
      "Set `settings = { model = ... }` in setup(); see `:help codekin-settings`",
    })
  end
  for index = 2, #lines do
    health.info(lines[index])
  end
  if present(status.problem) then
    health.warn("server problem: " .. tostring(status.problem))
  end
  report_index(status)
end

local function check_client()
  local client_mod = require("codekin.client")
  local clients = vim.lsp.get_clients({ name = client_mod.name })
  if #clients == 0 then
    health.warn("no codekin client is running", {
      "Open a file of one of the filetypes inside a project (a root marker: .git, .codekin.toml, ...)",
      "See :LspInfo / :checkhealth vim.lsp for why a server did not start",
    })
    return
  end
  for _, client in ipairs(clients) do
    local info = client.server_info or {}
    health.ok(string.format("client %d running: %s %s (root %s, position encoding %s)", client.id,
      info.name or "?", info.version or "?", client.root_dir or "-", client.offset_encoding))
    local status, err = client_mod.execute_sync(client, "codekin.status", nil, 10000)
    if status then
      report_status(status)
    else
      health.error("codekin.status failed: " .. tostring(err), { "See :LspLog" })
    end
  end
end

local function check_picker()
  local options = require("codekin.config").options
  local pickers = require("codekin.pickers")
  if not pickers.backends[options.picker] then
    health.error("unknown picker: " .. tostring(options.picker),
      { 'Use "quickfix", "select", "telescope" or "fzf-lua"' })
  elseif pickers.available(options.picker) then
    health.ok("picker: " .. options.picker)
  else
    health.warn("picker " .. options.picker .. " is not installed; the quickfix list is used")
  end
end

function M.check()
  health.start("codekin: Neovim and setup")
  check_neovim()
  check_setup()
  check_picker()
  health.start("codekin: server")
  check_executable()
  health.start("codekin: running client")
  check_client()
end

return M
