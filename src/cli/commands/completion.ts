/**
 * `paxos completion bash|zsh|fish` prints a script that completes commands,
 * flags and their values. The script asks `paxos __complete WORDS...` for the
 * candidates, so it always knows the running cluster's replicas, the
 * templates and the fault kinds of this version, and never needs updating.
 * The candidates themselves come from complete.ts, loaded only for `__complete`.
 */
import type { Command } from '@commander-js/extra-typings';
import { parseChoice } from '../parse.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script for commands, flags, replica names, templates and fault kinds')
    .argument('<shell>', 'bash, zsh or fish', parseChoice('the shell', SHELLS))
    .action((shell) => {
      process.stdout.write(completionScript(shell));
    });
}

export function completionScript(shell: Shell): string {
  switch (shell) {
    case 'bash':
      return `# paxos completion for bash: add to ~/.bashrc with  paxos completion bash >> ~/.bashrc
_paxos_complete() {
  local IFS=$'\\n'
  COMPREPLY=($(paxos __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _paxos_complete paxos
`;
    case 'zsh':
      return `#compdef paxos
# paxos completion for zsh: paxos completion zsh > "\${fpath[1]}/_paxos", or source it after compinit
_paxos() {
  local -a items
  items=("\${(@f)$(paxos __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  items=(\${items:#})
  (( \${#items} )) && compadd -Q -- "\${items[@]}" || _files
}
if [[ "\${funcstack[1]}" == _paxos ]]; then _paxos "$@"; else compdef _paxos paxos; fi
`;
    case 'fish':
      return `# paxos completion for fish: paxos completion fish > ~/.config/fish/completions/paxos.fish
function __paxos_complete
    set -l prior (commandline -opc)
    set -e prior[1]
    set -l cur (commandline -ct)
    paxos __complete $prior "$cur" 2>/dev/null
end
complete -c paxos -f -a '(__paxos_complete)'
`;
  }
}
