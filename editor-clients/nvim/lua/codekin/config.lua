--- Options of the codekin plugin: defaults, merging and the server command.
local M = {}

M.filetypes = {
  "python",
  "javascript",
  "javascriptreact",
  "typescript",
  "typescriptreact",
  "go",
  "rust",
  "java",
  "c",
  "cpp",
  "cs",
  "ruby",
  "php",
}

M.defaults = {
  -- The server command; nil: `codekin serve --stdio` from PATH, else a `.venv/bin/codekin` of the
  -- project (the current directory's root) or of the codekin checkout this plugin lives in.
  cmd = nil,
  filetypes = M.filetypes,
  root_markers = { ".git", ".codekin.toml", "pyproject.toml" },
  -- Server settings (the section `codekin`): model, device, worker, dim, duplicateThreshold,
  -- hoverThreshold, indexDir, maxResults, features = { codeLens, completion, ... }, ...
  settings = {},
  -- Extra fields for vim.lsp.config("codekin", ...): on_attach, capabilities, cmd_env, ...
  lsp = {},
  -- Where lists of results go: "quickfix", "select", "telescope" or "fzf-lua".
  picker = "quickfix",
  -- Open the quickfix window after filling it.
  open_quickfix = true,
  -- Refresh code lenses on attach, BufEnter, InsertLeave, BufWritePost and when indexing ends.
  codelens = true,
  -- How :Codekin compare shows the pair: "diff" (two scratch buffers with :diffthis and a summary)
  -- or "unified" (the server's unified diff in one scratch buffer).
  compare = "diff",
  -- Key mappings: false for none, or { similar = "<leader>cs", duplicates = ..., search = ...,
  -- docs = ..., compare = ..., status = ..., reindex = ... } (normal mode, to the <Plug> maps).
  keymaps = false,
}

M.options = vim.deepcopy(M.defaults)

--- The folder of the codekin checkout this plugin is part of (editor-clients/nvim/lua/codekin/..).
function M.plugin_root()
  local here = debug.getinfo(1, "S").source:sub(2)
  return vim.fn.fnamemodify(here, ":p:h:h:h")
end

--- The server command when none is configured; nil when no executable is found.
function M.default_cmd()
  if vim.fn.executable("codekin") == 1 then
    return { "codekin", "serve", "--stdio" }
  end
  local roots = {
    vim.fs.root(vim.fn.getcwd(), M.options.root_markers or M.defaults.root_markers),
    vim.fn.fnamemodify(M.plugin_root(), ":h:h"),
  }
  for _, root in ipairs(roots) do
    local exe = root and vim.fs.joinpath(root, ".venv", "bin", "codekin")
    if exe and vim.fn.executable(exe) == 1 then
      return { exe, "serve", "--stdio" }
    end
  end
  return nil
end

--- The command that launches the server: the configured one, else the default.
function M.cmd()
  local cmd = M.options.cmd
  if type(cmd) == "string" then
    return { cmd, "serve", "--stdio" }
  end
  return cmd or M.default_cmd()
end

function M.merge(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  if opts and opts.filetypes then
    M.options.filetypes = opts.filetypes
  end
  if opts and opts.root_markers then
    M.options.root_markers = opts.root_markers
  end
  return M.options
end

return M
