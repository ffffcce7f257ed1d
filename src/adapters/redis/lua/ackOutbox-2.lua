--[[
  Drops acknowledged outbox entries (seq <= upto) from the head of the outbox list, if the
  caller still owns the partition.

  Input:
    KEYS[1] meta    hash: epoch, ...
    KEYS[2] outbox  list: '{"seq":<n>,"effects":[...]}', oldest first (seq ascending)
    ARGV[1] epoch   the caller's fencing epoch
    ARGV[2] upto    highest acknowledged seq

  Output:
    >= 0  number of entries dropped
    -1    fenced: ARGV[1] is not the stored epoch; nothing changed
]]
local rcall = redis.call
local stored = tonumber(rcall('HGET', KEYS[1], 'epoch') or '0')
if tonumber(ARGV[1]) ~= stored then
  return -1
end
local upto = tonumber(ARGV[2])
local dropped = 0
while true do
  local head = rcall('LINDEX', KEYS[2], 0)
  if not head then
    break
  end
  -- The adapter writes the seq first, so the entry need not be JSON-decoded.
  local seq = tonumber(string.match(head, '^{"seq":(%d+),'))
  if seq == nil or seq > upto then
    break
  end
  rcall('LPOP', KEYS[2])
  dropped = dropped + 1
end
return dropped
