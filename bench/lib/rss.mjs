// Peak memory of a server's whole process tree: every RSS_SAMPLE_MS, the VmRSS of
// each process in its process group (the server leads its own group). Records the
// peak of the sum, of the leader (the master) and of the largest other member (a worker).
import { readdirSync, readFileSync } from 'node:fs';

const RSS_SAMPLE_MS = 100;

export function groupMembers(pgid) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) pids.push(Number(name));
    } catch {}
  }
  return pids;
}

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function sampleRss(pgid) {
  const peak = { totalKb: 0, leaderKb: 0, workerKb: 0, members: 0 };
  const sample = () => {
    let total = 0;
    const pids = groupMembers(pgid);
    for (const pid of pids) {
      const kb = rssKb(pid);
      total += kb;
      if (pid === pgid) peak.leaderKb = Math.max(peak.leaderKb, kb);
      else peak.workerKb = Math.max(peak.workerKb, kb);
    }
    peak.totalKb = Math.max(peak.totalKb, total);
    peak.members = Math.max(peak.members, pids.length);
  };
  sample();
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
}
