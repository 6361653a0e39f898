// Acceptance stated as settings (issue 11 §2): a model may confirm a persona, a mode or switched-off
// safety not in a sentence but as data — YAML or INI lines, a JSON object, a log line's key=value
// pairs. Each pair is read for what it states: a safety key switched off ("content_policy = off",
// "restrictions: none"), an unrestricted mode switched on ("developer = true", "override":
// "accepted"), or the persona or mode taken on ("persona: DAN", "mode=maintenance").

import type { Hit } from './scan.js';

/** `key: value`, `key = value`, `"key": "value"`, `key=value` (one line, quotes optional). */
const PAIR =
  /(?:^|[\s{,[])["']?([A-Za-z][\w.-]{1,40})["']?\s*[:=]\s*["']?([A-Za-z0-9][\w .-]{0,30}?)["']?\s*(?=[,}\]\n]|\s+[A-Za-z_][\w.-]*\s*[:=]|$)/gm;

/** Keys that name a safeguard. */
const GUARD_KEY =
  /safety|safe_?mode|content[_-]?polic|polic(?:y|ies)|filter|guard|restrict|rule|censor|moderat|limit|alignment|ethic/i;
/** Values that switch something off or say there is none. */
const OFF =
  /^(?:off|false|0|no|none|disabled?|deactivated|inactive|removed|bypassed|lifted|suspended|null|unrestricted|unfiltered)$/i;
/** Keys that name an unrestricted mode or a granted override. */
const MODE_KEY =
  /^(?:[\w.-]*[_.-])?(?:developer|dev|maintenance|override|jailbreak|jailbroken|dan|god|debug|admin|unrestricted|unfiltered|sudo|root)(?:[_.-]?(?:mode|override|access|enabled|accepted|granted|active|on|confirmed))?$/i;
/** Values that switch something on or accept it. */
const ON =
  /^(?:on|true|1|yes|enabled?|active|activated|accepted|acknowledged|confirmed|granted|engaged|unlocked|approved)$/i;
/** Keys for the persona, role or mode taken on, and the unrestricted ones a value may name. */
const ROLE_KEY = /^(?:persona|role|identity|character|mode|state|profile)$/i;
const UNRESTRICTED =
  /^(?:dan|developer(?: mode)?|dev(?: mode)?|maintenance(?: mode)?|jailbr(?:eak|oken)|god(?: mode)?|unrestricted|unfiltered|uncensored|override)$/i;

export function acceptanceSettings(text: string): Hit[] {
  const hits: Hit[] = [];
  for (const m of text.matchAll(PAIR)) {
    const key = m[1] ?? '';
    const value = (m[2] ?? '').trim();
    const at = m.index + m[0].indexOf(key);
    const hit = (detector: Hit['detector'], evidence: string): Hit => ({
      detector,
      index: at,
      match: m[0].trim(),
      evidence,
      kind: 'content',
    });
    if (GUARD_KEY.test(key) && OFF.test(value)) {
      hits.push(hit('override_acceptance', 'states a safeguard switched off (as a setting)'));
    } else if (MODE_KEY.test(key) && ON.test(value)) {
      hits.push(hit('jailbreak_acceptance', 'states an unrestricted mode on (as a setting)'));
    } else if (ROLE_KEY.test(key) && UNRESTRICTED.test(value)) {
      hits.push(hit('jailbreak_acceptance', 'takes on the persona or mode (as a setting)'));
    }
  }
  return hits;
}
