--- Talking to the codekin language server: finding its client and running its commands.
local M = {}

M.name = "codekin"

--- The codekin client attached to `bufnr` (default: current), else any running codekin client.
function M.get(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local attached = vim.lsp.get_clients({ name = M.name, bufnr = bufnr })
  if attached[1] then
    return attached[1], true
  end
  return vim.lsp.get_clients({ name = M.name })[1], false
end

local function notify(msg, level)
  vim.notify("codekin: " .. msg, level or vim.log.levels.INFO)
end
M.notify = notify

--- The client for a command about the current buffer; reports why there is none.
function M.require_attached(bufnr)
  local client, attached = M.get(bufnr)
  if not client then
    notify("no codekin server is running (call require('codekin').setup() and open a source file)",
      vim.log.levels.ERROR)
    return nil
  end
  if not attached then
    notify("this buffer is not attached to the codekin server", vim.log.levels.ERROR)
    return nil
  end
  return client
end

--- Runs `workspace/executeCommand` `command` with one argument; `on_result(result, client)`.
--- Errors are reported; `on_result` is called only on success.
function M.execute(client, command, argument, on_result, bufnr)
  local params = { command = command, arguments = argument ~= nil and { argument } or {} }
  client:request("workspace/executeCommand", params, function(err, result)
    if err then
      notify(command .. ": " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    on_result(result, client)
  end, bufnr)
end

--- The same, waiting at most `timeout_ms`; returns result, error message.
function M.execute_sync(client, command, argument, timeout_ms)
  local params = { command = command, arguments = argument ~= nil and { argument } or {} }
  local answer, err = client:request_sync("workspace/executeCommand", params, timeout_ms or 5000)
  if not answer then
    return nil, err or "no answer"
  end
  if answer.err then
    return nil, answer.err.message or vim.inspect(answer.err)
  end
  return answer.result, nil
end

--- `{uri, position}` of the cursor in the window, in the client's position encoding.
function M.position_argument(client, win)
  local params = vim.lsp.util.make_position_params(win or 0, client.offset_encoding)
  return { uri = params.textDocument.uri, position = params.position }
end

return M
