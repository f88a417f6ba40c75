-- wrk script: POSTs comment forms with real Indonesian review sentences
-- (../shared/data/id-reviews-ham, when present), a different author and a
-- distinct text each: the accept path.
local texts = {}
local f = io.open(os.getenv("CM_BENCH_TEXTS") or "", "r")
if f then
  for line in f:lines() do
    local text = line:match("^([^\t]+)")
    if text and #texts < 200 then texts[#texts + 1] = text end
  end
  f:close()
end
if #texts == 0 then
  texts = { "terima kasih beritanya, semoga bermanfaat",
            "pelayanan ramah dan tempatnya bersih" }
end

local function encode(s)
  return (s:gsub("[^%w%-_%.~ ]", function(c)
    return string.format("%%%02X", string.byte(c)) end):gsub(" ", "+"))
end

local n = 0
request = function()
  n = n + 1
  local body = "name=Pembaca&email=pembaca" .. n .. "%40example.id&article_id=1"
               -- each text made unique, or the swarm rule would reject copies
               .. "&comment=" .. encode(texts[n % #texts + 1] .. " (" .. n .. ")")
  return wrk.format("POST", "/comments",
                    { ["Content-Type"] = "application/x-www-form-urlencoded" },
                    body)
end
