-- POST /availability/reserve: wrk -s reserve.lua URL -- FILE distinct|random THREADS
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua"
require "rows"
function init(args) load_rows(args) end
function request()
  local row = pick()
  local body = '{"timeSlot":"' .. row[3] .. '","timeSlotId":"' .. row[2] .. '"}'
  return wrk.format("POST", "/availability/reserve",
    {["Authorization"] = "Bearer " .. row[1], ["Content-Type"] = "application/json"}, body)
end
