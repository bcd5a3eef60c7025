-- Shared by the write scenarios: read "token id timestamp" lines; hand each thread its own
-- stride of them (so distinct rows stay distinct across threads), or random ones.
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

rows = {}
local next_index
local step
local mode

function load_rows(args)
  for line in io.lines(args[1]) do
    local token, id, ts = line:match("^(%S+) (%S+) (.+)$")
    table.insert(rows, {token, id, ts})
  end
  mode = args[2]
  step = tonumber(args[3])
  next_index = (tid or 0) + 1
end

function pick()
  if mode == "random" then
    return rows[math.random(#rows)]
  end
  local row = rows[next_index]
  next_index = next_index + step
  if next_index > #rows then next_index = ((tid or 0) % step) + 1 end
  return row
end
