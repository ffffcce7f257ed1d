--[[
  Commits one partition batch atomically: fencing check, offset check, then state writes,
  dedup marks, dedup pruning, timers, one outbox entry and the new position. Either every
  change is applied or none (a refusal returns before the first write).

  Input:
    KEYS[1] meta    hash: epoch, next_offset, max_et, wm, outbox_seq
    KEYS[2] state   hash: stateId -> encoded state
    KEYS[3] dedup   zset: dedup id -> event time (ms)
    KEYS[4] timers  zset: timerId -> fire time (ms)
    KEYS[5] outbox  list: '{"seq":<n>,"effects":[...]}'
    ARGV[1]  epoch            the caller's fencing epoch
    ARGV[2]  fromOffset       must equal the stored next_offset, when one is stored
    ARGV[3]  nextOffset       stored as the new next_offset
    ARGV[4]  maxEventTimeMs   stored as max(stored, this)
    ARGV[5]  watermarkMs      stored as max(stored, this)
    ARGV[6]  pruneBelowMs     dedup marks with event time < this are removed
    ARGV[7]  effectsJson      JSON array of effects; '' for none
    ARGV[8]  nSet             number of (stateId, value) pairs to HSET
    ARGV[9]  nDel             number of stateIds to HDEL
    ARGV[10] nDedup           number of (eventTimeMs, dedupId) pairs to ZADD
    ARGV[11] nTimerDel        number of timerIds to ZREM
    ARGV[12] nTimerAdd        number of (atMs, timerId) pairs to ZADD
    ARGV[13...]               the sections above, in that order

  Numbers are decimal strings; offsets are compared as numbers (they stay below 2^53).

  Output: { code, storedOffset }
    code >= 0   committed; the outbox seq of the new entry, 0 when there were no effects
    code = -1   fenced: ARGV[1] is not the stored epoch
    code = -2   offset mismatch: ARGV[2] is not the stored next_offset
    storedOffset  the stored next_offset before this call, '' when none
]]
local rcall = redis.call
local metaKey = KEYS[1]

local meta = rcall('HMGET', metaKey, 'epoch', 'next_offset', 'max_et', 'wm')
local storedOffset = meta[2] or ''
if tonumber(ARGV[1]) ~= tonumber(meta[1] or '0') then
  return { -1, storedOffset }
end
if meta[2] and tonumber(meta[2]) ~= tonumber(ARGV[2]) then
  return { -2, storedOffset }
end

-- Lua's unpack fails beyond ~8000 values (LUAI_MAXCSTACK), so long sections go in chunks.
-- The chunk size is even, so (field, value) pairs are never split.
local CHUNK = 7000
local function each_chunk(command, key, first, count)
  local last = first + count - 1
  local i = first
  while i <= last do
    local j = math.min(i + CHUNK - 1, last)
    rcall(command, key, unpack(ARGV, i, j))
    i = j + 1
  end
  return last + 1
end

local nSet, nDel = tonumber(ARGV[8]), tonumber(ARGV[9])
local nDedup, nTimerDel, nTimerAdd = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local i = 13
i = each_chunk('HSET', KEYS[2], i, 2 * nSet)
i = each_chunk('HDEL', KEYS[2], i, nDel)
i = each_chunk('ZADD', KEYS[3], i, 2 * nDedup)
rcall('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[6])
-- Removals before additions: a timer removed and re-added in one batch stays.
i = each_chunk('ZREM', KEYS[4], i, nTimerDel)
each_chunk('ZADD', KEYS[4], i, 2 * nTimerAdd)

local seq = 0
if ARGV[7] ~= '' then
  seq = rcall('HINCRBY', metaKey, 'outbox_seq', 1)
  rcall('RPUSH', KEYS[5], '{"seq":' .. seq .. ',"effects":' .. ARGV[7] .. '}')
end

-- Event-time position never moves backwards. Values are kept as the caller's strings.
local function max_of(stored, new)
  if stored and tonumber(stored) >= tonumber(new) then
    return stored
  end
  return new
end
rcall('HSET', metaKey, 'next_offset', ARGV[3], 'max_et', max_of(meta[3], ARGV[4]), 'wm', max_of(meta[4], ARGV[5]))
return { seq, storedOffset }
