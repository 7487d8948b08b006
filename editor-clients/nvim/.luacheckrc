-- luacheck configuration of the codekin Neovim plugin: `luacheck .` in editor-clients/nvim
std = "luajit"
-- vim.bo, vim.g, vim.opt, vim.lsp.commands ... are written to, as Neovim intends
globals = { "vim" }
max_line_length = 120
max_cyclomatic_complexity = 12
