-- PUT /availability/confirm/{id}: wrk -s confirm.lua URL -- FILE distinct THREADS
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua"
require "rows"
function init(args) load_rows(args) end
function request()
  local row = pick()
  return wrk.format("PUT", "/availability/confirm/" .. row[2],
    {["Authorization"] = "Bearer " .. row[1], ["Content-Type"] = "application/json"},
    '{"timeSlot":"' .. row[3] .. '"}')
end
