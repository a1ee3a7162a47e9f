# bash completion for raftbgpctl (installed as share/bash-completion/completions/raftbgpctl).
# The verb lists mirror the verb table in agent/raftbgpctl.cc; raftbgpctl_test.cc checks that every
# subcommand of `raftbgpctl --help` appears here.
_raftbgpctl() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local globals="--socket --timeout --client-id --seq -o --output --json --version --help"
  case $prev in
    --socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -o|--output) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
    --timeout|--client-id|--seq|--max-lag|--max-lag-seconds|--max-ack-wait|--key-id|--med|--local-pref|\
    --prepend|--nodes|--next-hop|--community|--large-community|--from-index) return ;;
    --out) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  # The verb and sub-verb typed so far: the first two words that are neither options nor option values.
  local i w verb="" sub=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in
      --socket|--timeout|--client-id|--seq|-o|--output|--max-lag|--max-lag-seconds|--max-ack-wait|--key-id|--out|\
      --med|--local-pref|--prepend|--nodes|--next-hop|--community|--large-community|--from-index) ((i++)) ;;
      -*) ;;
      *) if [ -z "$verb" ]; then verb=$w; elif [ -z "$sub" ]; then sub=$w; fi ;;
    esac
  done
  local words
  if [ -z "$verb" ]; then
    words="status health metrics kv policy members transfer-leader snapshot debug keygen $globals"
  elif [ -z "$sub" ]; then
    case $verb in
      kv) words="get put delete remove list show watch" ;;
      policy) words="add remove delete show list apply export history watch" ;;
      members) words="add promote remove" ;;
      debug) words="dump model record" ;;
      status) words="--cluster" ;;
      health) words="--max-lag --max-lag-seconds --max-ack-wait" ;;
      keygen) words="--out --key-id --force --aes" ;;
      *) words="" ;;
    esac
  else
    case "$verb $sub" in
      "policy apply") words="-f --file --dry-run" ;;
      "policy add") words="--next-hop --community --med --local-pref --large-community --prepend --nodes" ;;
      "members add") words="--learner" ;;
      "kv watch"|"policy watch") words="--from-index" ;;
      *) words="" ;;
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _raftbgpctl raftbgpctl
