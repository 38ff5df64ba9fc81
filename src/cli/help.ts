/**
 * `--help` texts. Kept apart from the commands so that `sessionkit --help` loads nothing
 * else; each text lists exactly the options the command's table parses (a test checks it).
 */
export const MAIN_HELP = `sessionkit — HTTP requests with sessions that persist between commands

Usage:
  sessionkit [METHOD] URL [ITEM ...] [OPTIONS]    send a request (see: sessionkit request --help)
  sessionkit login atproto|apikey --session NAME  log in once; later requests refresh by themselves
  sessionkit logout --session NAME                 end the login and forget the credentials
  sessionkit sessions list|show|rm|export [NAME]   what a named session holds
  sessionkit realtime URL [OPTIONS]                open a realtime (WebSocket) session

A named session (--session NAME) keeps cookies, HSTS policies, cached responses, --auth
credentials and login tokens in $XDG_CONFIG_HOME/sessionkit/sessions/NAME/ (default
~/.config/sessionkit), readable by you only.

Passwords: never type them on the command line (shell history, ps). Leave them out and
sessionkit asks without echo, or set SESSIONKIT_PASSWORD for scripts.

Run "sessionkit COMMAND --help" for a command's options.
  --version   print the version
  --help      this text
`;

export const REQUEST_HELP = `Usage: sessionkit [METHOD] URL [ITEM ...] [OPTIONS]

Sends one request through a sessionkit Session. METHOD defaults to GET, or POST when
there is a body. URL may leave out http:// ("example.org/x"), and ":3000/x" means
http://localhost:3000/x.

Items (as HTTPie writes them):
  Header:Value      request header ("Header:" drops a default header, "Header;" sends it empty)
  name==value       query parameter
  field=value       string field of the JSON body (of the form body with --form)
  field:=json       raw JSON value: n:=3  ok:=true  tags:='["a","b"]'
  field=@file       string field read from a file; field:=@file raw JSON from a file
  field@file        file upload (makes the body multipart/form-data)
  A backslash escapes a separator: 'a\\:b=c' is the field "a:b".

Sessions:
  --session NAME              create or reuse a named session (cookies, HSTS, cache, auth, login)
  --session-read-only NAME    use a named session without changing it (token rotations are still saved)

Authentication:
  -a, --auth USER[:PASS]      credentials; without :PASS the password is asked for (or SESSIONKIT_PASSWORD).
                              With --auth-type bearer: -a TOKEN. Saved in the --session.
  -A, --auth-type TYPE        basic (default, sent up front), digest (answers the challenge; the
                              nonce is kept so the next command needs no 401), bearer

Request:
  -f, --form                  data fields as application/x-www-form-urlencoded instead of JSON
  --follow / --no-follow      follow redirects (default: follow, with the library's rules)
  --timeout SECONDS           socket I/O timeout (default 60; 0 for none)
  --proxy URL                 proxy for every scheme, or SCHEME:URL (http:http://p:3128); repeatable.
                              Default: HTTP_PROXY / HTTPS_PROXY / NO_PROXY
  --verify CA.pem             trust this CA file instead of the system's (yes: system CAs)
  --cert FILE --key FILE      client certificate and key (PEM) for mutual TLS
  --offline                   print the request without sending it

Output:
  -p, --print WHAT            what to print: H request headers, B request body, h response
                              headers, b response body (default: hb on a terminal, b piped)
  -h, --headers               same as --print=h
  -b, --body                  same as --print=b
  -v, --verbose               request and response, headers and bodies (--print=HBhb)
  -o, --output FILE           download the body into FILE, streamed, with a progress bar on a terminal
  --check-status              exit 3, 4 or 5 on an HTTP 3xx, 4xx or 5xx (as HTTPie)
  --show-secrets              print Authorization, Cookie and Set-Cookie values unredacted
  --help                      this text

On a terminal the status line and headers are coloured and JSON is pretty-printed;
piped, only the body is written, byte for byte. NO_COLOR turns colours off.

Exit status: 0 ok, 1 error, 2 usage error or timeout, 3/4/5 HTTP 3xx/4xx/5xx with
--check-status, 6 too many redirects, 130 interrupted. Errors are one line:
"sessionkit: error: CODE: message".
`;

export const LOGIN_HELP = `Usage:
  sessionkit login atproto --session NAME --identifier HANDLE [--service URL]
  sessionkit login apikey  --session NAME --api-url URL [--api-key KEY | --key-file FILE]

Logs in once and keeps the login in the named session. Later requests with
--session NAME to that service go through the login: tokens are refreshed when they
run out, each rotation is saved at once, and when the login cannot be refreshed any
more the request fails with SESSION_EXPIRED: log in again.

atproto (Bluesky or any PDS):
  --identifier HANDLE   handle, DID or email
  --service URL         the entryway (default https://bsky.social)
  The password (better: an app password) is asked for without echo, or read from
  SESSIONKIT_PASSWORD. Requests go to the account's PDS from its DID document.

apikey (astrometry.net-style API keys):
  --api-url URL         the API root (default https://nova.astrometry.net/api/)
  --api-key KEY         the key itself (visible in shell history: prefer the next two)
  --key-file FILE       a file that holds only the key
  The key is taken from --api-key, then --key-file, then ASTROMETRY_API_KEY. It is kept in
  the session so that a login the server forgot is made again without asking.

Common:
  --session NAME        the named session to keep the login in (required)
  --timeout, --proxy, --verify, --cert, --key   as for requests
  --help                this text
`;

export const LOGOUT_HELP = `Usage: sessionkit logout --session NAME

Ends the session's login on the server when the service has a logout (atproto's
deleteSession) and forgets it, together with any --auth credentials kept in the session.
Cookies, HSTS policies and the cache stay (sessionkit sessions rm NAME removes everything).

  --session NAME        the named session (required)
  --timeout, --proxy, --verify, --cert, --key   as for requests
  --help                this text
`;

export const SESSIONS_HELP = `Usage:
  sessionkit sessions list [--json]
  sessionkit sessions show NAME [--json] [--show-secrets]
  sessionkit sessions rm NAME
  sessionkit sessions export NAME [--show-secrets]

list     every named session: login, auth, how many cookies, HSTS hosts and cached responses
show     what a session holds: cookie names and domains, HSTS hosts, cached URLs, which
         credentials and until when
rm       deletes the session's directory
export   the whole session as JSON (cookies, HSTS policies, login and auth)

Secrets (cookie values, passwords, tokens, session strings, API keys) are shown as
[REDACTED] unless --show-secrets is given.

  --json            machine-readable output (list, show)
  --show-secrets    include secrets (show, export)
  --help            this text
`;

export const REALTIME_HELP = `Usage: sessionkit realtime URL [OPTIONS]

Opens a realtime session (sessionkit/realtime, Diffusion-style) at a ws:// or wss:// URL.
Lines typed on standard input are sent:
  PATH JSON       a one-way message to PATH          e.g.  chat/room1 {"text":"hi"}
  ?PATH JSON      a request; its answer is printed    e.g.  ?time/now null
Messages the server pushes to the paths given with --on are printed as "PATH JSON" on
standard output; state changes (connected, recovering, recovered, closed) go to standard
error. End of input closes the session.

  --principal NAME      the principal to authenticate as; the password comes from
                        SESSIONKIT_PASSWORD, else a prompt on a terminal
  --on PATH             print messages pushed to PATH (repeatable)
  --send "PATH JSON"    send one message, then close and exit
  --request "PATH JSON" make one request, print the answer, then close and exit
  --session NAME        upgrade through a named session (its cookies, auth and proxy)
  --no-reconnect        do not recover after a dropped connection
  --timeout SECONDS     connect and request timeout (default 10 and 30)
  --proxy, --verify, --cert, --key   as for requests
  --help                this text
`;
