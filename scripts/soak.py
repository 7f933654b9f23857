#!/usr/bin/env python3
"""Mixed traffic for a long run against a running sessionlab (RELIABILITY.md, "Long runs"):
each round is one keep-alive connection through every lesson's views (GET, HEAD, POST, as
HTML and JSON), each lesson page, OPTIONS and an APPEND_SLASH redirect; the playground's
operations with its CSRF token (in the form or the header; one in twenty forged); every fifth
round the instructor's sign-in, dashboard, clear-expired (cookie and bearer) and sign-out;
/healthz, the index, a static file, a 404, cookies that are no session key; and every other
round connections cut off mid-head, mid-body and before the answer (closed with RST).

usage: scripts/soak.py PORT ROUNDS [INSTRUCTOR_TOKEN]
Prints the count of each status (and each 5xx by request) at the end. Standard library only."""
import http.client, random, socket, string, sys, urllib.parse, collections, json

PORT = int(sys.argv[1]); ROUNDS = int(sys.argv[2])
TOKEN = sys.argv[3] if len(sys.argv) > 3 else None
HOST = "127.0.0.1"
ORIGIN = f"http://{HOST}:{PORT}"
statuses = collections.Counter()

LESSONS = {
    "basic": ["set", "get", "del"],
    "dict": ["set", "get", "del", "flush"],
    "timeout": ["set", "get", "del"],
    "testcookie": ["set", "check", "del"],
    "settings": ["set", "get", "del"],
    "pagesession": ["set", "get", "del"],
}

def jar_header(jar):
    return "; ".join(f"{k}={v}" for k, v in jar.items())

def absorb(jar, resp):
    for name, value in resp.getheaders():
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            k, _, v = pair.partition("=")
            if v == "" or "Max-Age=0" in value:
                jar.pop(k, None)
            else:
                jar[k] = v

def req(conn, method, path, jar=None, headers=None, body=None, tag=None):
    h = dict(headers or {})
    if jar:
        h["Cookie"] = jar_header(jar)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
    except (ConnectionError, http.client.HTTPException, socket.timeout) as e:
        statuses[f"{tag or path} err {type(e).__name__}"] += 1
        conn.close()
        return None, b""
    if jar is not None:
        absorb(jar, r)
    statuses[f"{r.status}"] += 1
    if r.status >= 500:
        statuses[f"5xx {method} {path}"] += 1
    if r.getheader("Connection", "").lower() == "close":
        conn.close()
    return r, data

def lessons(conn):
    jar = {}
    for slug, views in LESSONS.items():
        for v in views:
            accept = random.choice(["application/json", "text/html"])
            req(conn, random.choice(["GET", "GET", "POST", "HEAD"]), f"/{slug}/{v}/", jar, {"Accept": accept})
        req(conn, "GET", f"/{slug}/", jar)
        req(conn, "OPTIONS", f"/{slug}/get/", jar)
        req(conn, "GET", f"/{slug}/set", jar)  # APPEND_SLASH
    return jar

def playground(conn):
    jar = {}
    r, data = req(conn, "GET", "/playground/", jar, {"Accept": "application/json"})
    token = jar.get("csrftoken")
    if not token:
        return
    ops = [
        ("set", {"key": "k%d" % random.randint(0, 60), "value": json.dumps("x" * random.randint(0, 3000))}),
        ("setdefault", {"key": "age", "value": '"26"'}),
        ("pop", {"key": "age"}),
        ("pop", {"key": "missing", "default": '"d"'}),
        ("delete", {"key": "nope"}),
        ("cycle_key", {}),
        ("set_expiry", {"kind": "seconds", "value": "600"}),
        ("set_expiry", {"kind": "none"}),
        ("clear", {}),
        ("flush", {}),
        ("set", {"key": "bad", "value": "{not json"}),
    ]
    for op, fields in random.sample(ops, 6):
        fields = dict(fields)
        h = {"Accept": random.choice(["application/json", "text/html"]),
             "Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN}
        if random.random() < 0.5:
            fields["csrfmiddlewaretoken"] = token
        else:
            h["X-CSRFToken"] = token
        if random.random() < 0.05:
            h["X-CSRFToken"] = "forged" * 5; fields.pop("csrfmiddlewaretoken", None)
        req(conn, "POST", f"/playground/{op}/", jar, h, urllib.parse.urlencode(fields))
    req(conn, "GET", "/playground/", jar, {"Accept": "text/html"})
    req(conn, "GET", "/playground/set/", jar)

def instructor(conn):
    if not TOKEN:
        return
    jar = {}
    h = {"Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN}
    req(conn, "POST", "/instructor/login/", jar, h, urllib.parse.urlencode({"token": TOKEN}))
    req(conn, "GET", "/instructor/", jar)
    req(conn, "POST", "/instructor/clear-expired/", jar, h, "")
    req(conn, "GET", "/instructor/?removed=3", jar)
    req(conn, "GET", "/instructor/", None, {"Authorization": "Bearer " + TOKEN, "Accept": "application/json"})
    req(conn, "POST", "/instructor/clear-expired/", None,
        {"Authorization": "Bearer " + TOKEN, "Accept": "application/json", "Origin": ORIGIN})
    req(conn, "POST", "/instructor/logout/", jar, h, "")
    req(conn, "GET", "/instructor/", jar)

def misc(conn):
    req(conn, "GET", "/healthz")
    req(conn, "HEAD", "/healthz")
    req(conn, "GET", "/")
    req(conn, "GET", "/static/style.css")
    req(conn, "GET", "/nope")
    req(conn, "OPTIONS", "/")
    junk = "".join(random.choice(string.ascii_letters + string.digits + "-_.%") for _ in range(random.randint(0, 60)))
    for path in ("/basic/get/", "/dict/get/", "/timeout/get/", "/testcookie/check/", "/pagesession/get/", "/dict/set/"):
        req(conn, "GET", path, {"sessionid": junk})
    req(conn, "GET", "/settings/get/", {"sessionname": junk})
    req(conn, "GET", "/basic/get/", {"sessionid": "a" * 32})
    req(conn, "GET", "/playground/", {"sessionid": "b" * 32, "csrftoken": junk})

def raw(data, read=False, shutdown=False):
    s = socket.create_connection((HOST, PORT))
    try:
        s.sendall(data)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        if read:
            s.settimeout(5)
            try:
                s.recv(100)
            except socket.timeout:
                pass
    finally:
        # RST on close: abort rather than a polite FIN
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()

def aborts():
    host = f"Host: {HOST}:{PORT}\r\n".encode()
    raw(b"GET /basic/set/ HTTP/1.1\r\n" + host)  # head cut short
    raw(b"GET /basic/set/ HTTP/1.1\r\n" + host + b"\r\n")  # full request, gone before the answer
    raw(b"POST /playground/set/ HTTP/1.1\r\n" + host + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\nOrigin: " + ORIGIN.encode() + b"\r\n\r\nkey=a&va")  # body cut
    raw(b"POST /instructor/login/ HTTP/1.1\r\n" + host + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\ntoken=")  # body cut
    raw(b"POST /dict/set/ HTTP/1.1\r\n" + host + b"Content-Length: 100\r\n\r\nabc", shutdown=True)
    raw(b"GET /dict/set/ HTTP/1.1\r\n" + host + b"\r\n", read=True)
    raw(b"")

def main():
    for i in range(ROUNDS):
        conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        lessons(conn)
        playground(conn)
        if i % 5 == 0:
            instructor(conn)
        misc(conn)
        conn.close()
        if i % 2 == 0:
            aborts()
    for k, v in sorted(statuses.items()):
        print(k, v)

main()
