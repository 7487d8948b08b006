-- A minimal init for the end-to-end test (nvim -u this file): the plugin on the runtimepath and
-- codekin set up from environment variables, nothing else of the user's.
local plugin = assert(os.getenv("CODEKIN_NVIM_PLUGIN"), "CODEKIN_NVIM_PLUGIN: the plugin folder")
vim.opt.runtimepath:prepend(plugin)
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"
vim.opt.more = false
vim.opt.shortmess:append("I")

local settings = {
  model = os.getenv("CODEKIN_TEST_MODEL") or "minilm",
  device = "cpu",
  indexDir = os.getenv("CODEKIN_TEST_INDEX_DIR"),
}

require("codekin").setup({
  cmd = { assert(os.getenv("CODEKIN_TEST_SERVER"), "CODEKIN_TEST_SERVER: the codekin executable"),
    "serve", "--stdio" },
  settings = settings,
  picker = "quickfix",
})
