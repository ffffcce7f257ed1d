/**
 * Test oracle for the graph rebuild: user–device components by union-find over the events
 * (independent of graphology), as user → the members of its component.
 */
export function userDeviceComponents(events: Iterable<{ user_id: string; device_id?: string | undefined }>): Map<string, string[]> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    return r;
  };
  const add = (x: string) => parent.has(x) || parent.set(x, x);
  for (const e of events) {
    add(`u${e.user_id}`);
    if (e.device_id === undefined) continue;
    add(`d${e.device_id}`);
    parent.set(find(`u${e.user_id}`), find(`d${e.device_id}`));
  }
  const members = new Map<string, string[]>();
  for (const x of parent.keys()) {
    if (!x.startsWith('u')) continue;
    const root = find(x);
    members.set(root, [...(members.get(root) ?? []), x.slice(1)]);
  }
  const out = new Map<string, string[]>();
  for (const users of members.values()) for (const u of users) out.set(u, users);
  return out;
}
