--[[
  Restores one partition's meta hash from a backup and fences every owner of before the
  restore, in one step: no moment exists in which a stale owner's epoch is the stored one.

  Input:
    KEYS[1] meta    hash: epoch, next_offset, max_et, wm, outbox_seq
    ARGV[1] dump    DUMP payload of the backup's meta hash; '' when the backup has none (the
                    hash is then reduced to its epoch: the partition starts from no position)

  Output: { liveEpoch, backupEpoch, restoredEpoch }
    restoredEpoch = max(liveEpoch, backupEpoch) + 1 (backup-manifest.ts restoredEpoch): an
    epoch never goes down, so a zombie of before the restore stays fenced, whatever the backup
    held. Missing epochs count as 0. Re-running (a restore interrupted and started again) only
    raises the epoch further.
]]
local rcall = redis.call
local live = tonumber(rcall('HGET', KEYS[1], 'epoch') or '0')
rcall('DEL', KEYS[1])
local backup = 0
if ARGV[1] ~= '' then
  rcall('RESTORE', KEYS[1], 0, ARGV[1])
  backup = tonumber(rcall('HGET', KEYS[1], 'epoch') or '0')
end
local restored = math.max(live, backup) + 1
rcall('HSET', KEYS[1], 'epoch', restored)
return { live, backup, restored }
