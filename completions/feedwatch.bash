# bash completion for feedwatch(1) and feedwatchd(8).
# Installed as /usr/share/bash-completion/completions/feedwatch (and feedwatchd, a link).

_feedwatch_feeds()
{
    # Feed names from the running daemon, when it answers; nothing otherwise.
    feedwatch --json feeds 2>/dev/null | grep -o '"name": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'
}

_feedwatch()
{
    local cur prev words cword
    _init_completion || return
    local commands="status feeds items item poll reload alerts events watch add remove pause resume redeliver search metrics export-opml import-opml parse extract match"
    local globals="--json --wide --socket --config --help --version"
    local cmd="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --socket | --config | --feed | --limit | --topic | --interval | --tag | --hook | --since) ((i++)) ;;
            -*) ;;
            *) cmd=${words[i]}; break ;;
        esac
    done
    case $prev in
        --socket) _filedir sock; return ;;
        --config) _filedir conf; return ;;
        --feed) COMPREPLY=($(compgen -W "$(_feedwatch_feeds)" -- "$cur")); return ;;
        --limit | --topic | --interval | --tag | --hook | --since) return ;;
    esac
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands $globals" -- "$cur"))
        return
    fi
    local opts=""
    case $cmd in
        items) opts="--feed --tag --topic --since --limit --text" ;;
        add) opts="--interval --tag --fetch-article" ;;
        import-opml) opts="--tag --dry-run --ini" ;;
        alerts) opts="--topic --failed --limit" ;;
        events) opts="--failed --limit" ;;
        redeliver) opts="--failed --hook" ;;
        poll) opts="--wait" ;;
        search) opts="--limit" ;;
        match) opts="--explain" ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts $globals" -- "$cur"))
        return
    fi
    case $cmd in
        poll | remove | pause | resume | feeds) COMPREPLY=($(compgen -W "$(_feedwatch_feeds)" -- "$cur")) ;;
        parse | extract) _filedir ;;
        import-opml) _filedir '@(opml|xml)' ;;
        match) [[ $cword -gt $((i + 1)) ]] && _filedir ;;
    esac
}
complete -F _feedwatch feedwatch

_feedwatchd()
{
    local cur prev words cword
    _init_completion || return
    case $prev in
        --config) _filedir conf; return ;;
    esac
    COMPREPLY=($(compgen -W "--config --once --check --foreground --help --version" -- "$cur"))
}
complete -F _feedwatchd feedwatchd
