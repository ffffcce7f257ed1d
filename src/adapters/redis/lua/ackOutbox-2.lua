--[[
  Drops acknowledged outbox entries (seq <= upto) from the head of the outbox list, if the
  caller still owns the partition.

  Input:
    KEYS[1] meta    hash: epoch, outbox_seq, ...
    KEYS[2] outbox  list: '{"seq":<n>,"effects":[...]}', oldest first (seq ascending)
    ARGV[1] epoch   the caller's fencing epoch
    ARGV[2] upto    highest acknowledged seq

  Output:
    >= 0  number of entries dropped
    -1    fenced: ARGV[1] is not the stored epoch; nothing changed

  The entries' seqs are consecutive and end at outbox_seq: commitBatch-5.lua increments
  outbox_seq exactly when it appends an entry, in the same script, so a lost write (AOF) takes
  both back together, and only this script removes entries, from the head. So the head's seq is
  outbox_seq - LLEN + 1 and the acknowledged prefix can be cut with LTRIM without reading it:
  reading each head entry (LINDEX, then LPOP) copied every entry into Lua twice, and a replay's
  entries are megabytes (Redis spent ~170 us per acknowledged entry on that).
]]
local rcall = redis.call
local meta = rcall('HMGET', KEYS[1], 'epoch', 'outbox_seq')
if tonumber(ARGV[1]) ~= tonumber(meta[1] or '0') then
  return -1
end
local len = rcall('LLEN', KEYS[2])
if len == 0 then
  return 0
end
local head = tonumber(meta[2] or '0') - len + 1
local drop = math.min(len, tonumber(ARGV[2]) - head + 1)
if drop <= 0 then
  return 0
end
rcall('LTRIM', KEYS[2], drop, -1)
return drop
