-- :Codekin {subcommand} and the <Plug>(codekin-...) mappings. The server itself starts only after
-- require("codekin").setup().
if vim.g.loaded_codekin then
  return
end
vim.g.loaded_codekin = true

local subcommands = {
  similar = function()
    require("codekin.commands").similar()
  end,
  duplicates = function(args)
    require("codekin.commands").duplicates(args[1])
  end,
  search = function(args)
    require("codekin.commands").search(table.concat(args, " "))
  end,
  docs = function()
    require("codekin.commands").docs()
  end,
  compare = function(_, bang)
    require("codekin.compare").compare({ pick = bang })
  end,
  status = function()
    require("codekin.commands").status()
  end,
  reindex = function(args)
    require("codekin.commands").reindex(args[1])
  end,
}

local names = vim.tbl_keys(subcommands)
table.sort(names)

local scopes = { duplicates = { "%" }, reindex = { "%" } }

local function complete(arg_lead, cmdline)
  local words = vim.split(cmdline, "%s+", { trimempty = true })
  local completing_first = #words == 1 or (#words == 2 and not cmdline:match("%s$"))
  local candidates = completing_first and names or (scopes[words[2]] or {})
  return vim.tbl_filter(function(name)
    return vim.startswith(name, arg_lead)
  end, candidates)
end

local function run(opts)
  local name = opts.fargs[1]
  local handler = name and subcommands[name]
  if not handler then
    vim.notify("codekin: :Codekin {" .. table.concat(names, "|") .. "}", vim.log.levels.ERROR)
    return
  end
  handler(vim.list_slice(opts.fargs, 2), opts.bang)
end

vim.api.nvim_create_user_command("Codekin", run, {
  nargs = "+",
  bang = true,
  complete = complete,
  desc = "codekin: similar, duplicates, search, docs, compare, status, reindex",
})

for _, name in ipairs(names) do
  vim.keymap.set("n", "<Plug>(codekin-" .. name .. ")", function()
    subcommands[name]({}, false)
  end, { desc = "codekin: " .. name })
end
