/*
 * sds_example.c - three participants (alice, bob, carol) share the channel
 * "room" over a simulated broadcast that drops and reorders messages, all
 * through the C ABI of libsds (include/libsds.h, build/libsds.so):
 *
 *   1. reordering: bob receives a3 before a1 and a2 - missing dependencies,
 *      then delivery in causal order;
 *   2. acknowledgements: bob's reply names alice's messages;
 *   3. resend: carol's c1 is lost for everyone; the library hands it back
 *      (message_resend) and carol broadcasts it again;
 *   4. SDS-R repair: bob misses a4; the library hands him a sync message
 *      asking the group for it (repair_request), which he broadcasts, and
 *      alice, its sender, answers (repair_ready);
 *   5. restart: bob's state lives in a file ("storePath"); he goes offline,
 *      misses a6, comes back with a new manager over the same file,
 *      remembers what he had, and heals the new gap with SDS-R.
 *
 * It prints what happened and exits with status 1 if the story did not
 * happen as told, so `make example-c` doubles as a test.
 *
 * Time: the C ABI runs on the wall clock (there is no clock to inject), so
 * the example sets short intervals (100 ms resend and repair windows, 10 ms
 * sweeps) and waits for the events with bounded polls; the whole run takes
 * well under a second.
 *
 *   cc -Iinclude examples/c/sds_example.c -Lbuild -lsds -lpthread
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libsds.h"

#define CHANNEL "room"
#define MAXMSG 64
#define MAXQ 256

/* ---- participants and their event queue -------------------------------- */

typedef struct {
	uint8_t* data;
	size_t len;
	char id[32];
} Packet;

typedef struct {
	const char* name;
	char config[512];
	void* ctx;
	int online;
	Packet inbox[MAXQ]; /* broadcasts on their way to this participant */
	int ninbox;
	char delivered[MAXMSG][32]; /* message_ready, in order */
	int ndelivered;
	char acked[MAXMSG][32]; /* message_sent */
	int nacked;
	int sent;
	int resends, repairs, missing, failed, duplicates;
	int asked;        /* repair_request events broadcast */
	long long gap_at; /* when a missing dependency was last reported */
} Participant;

static Participant alice = {.name = "alice"}, bob = {.name = "bob"}, carol = {.name = "carol"};
static Participant* everyone[] = {&alice, &bob, &carol};
#define N_PARTICIPANTS 3

/* Events arrive on the calling thread (during our calls) and on the
 * library's periodic-task thread: the callback only queues a copy; the
 * main thread handles them in drain(). */
typedef struct {
	Participant* p;
	char* json;
} Event;

static pthread_mutex_t queue_mu = PTHREAD_MUTEX_INITIALIZER;
static Event queue[4096];
static int nqueue;
static int failures;

static void flush_run(void);

static void on_event(int ret, const char* msg, size_t len, void* userData) {
	if (ret != RET_OK || msg == NULL) return;
	pthread_mutex_lock(&queue_mu);
	if (nqueue < (int)(sizeof queue / sizeof queue[0])) {
		queue[nqueue].p = userData;
		queue[nqueue].json = malloc(len + 1);
		memcpy(queue[nqueue].json, msg, len + 1);
		nqueue++;
	}
	pthread_mutex_unlock(&queue_mu);
}

/* A result callback that keeps a copy of the message. */
typedef struct {
	int ret;
	char text[512];
} Result;

static void on_result(int ret, const char* msg, size_t len, void* userData) {
	Result* r = userData;
	r->ret = ret;
	snprintf(r->text, sizeof r->text, "%.*s", msg ? (int)len : 0, msg ? msg : "");
}

static void check(int ok, const char* fmt, ...) {
	if (ok) return;
	va_list ap;
	va_start(ap, fmt);
	flush_run();
	fprintf(stdout, "  !! not as told: ");
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	failures++;
}

static void sleep_ms(int ms) {
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- tiny parsers: event JSON, base64, protobuf ------------------------ */

/* Copies the string value of "key" (no escapes in our ids) into out. */
static int json_str(const char* json, const char* key, char* out, size_t cap) {
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":\"", key);
	const char* s = strstr(json, pat);
	if (s == NULL) return 0;
	s += strlen(pat);
	const char* e = strchr(s, '"');
	if (e == NULL) return 0;
	snprintf(out, cap, "%.*s", (int)(e - s), s);
	return 1;
}

static long unbase64(const char* s, size_t n, uint8_t** out) {
	static const char* alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t* b = malloc(n / 4 * 3 + 3);
	long len = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		const char* p = strchr(alpha, s[i]);
		if (p == NULL || s[i] == 0) {
			free(b);
			return -1;
		}
		acc = acc << 6 | (uint32_t)(p - alpha);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			b[len++] = (uint8_t)(acc >> bits);
		}
	}
	*out = b;
	return len;
}

static int varint(const uint8_t* b, size_t n, size_t* i, uint64_t* v) {
	*v = 0;
	for (int shift = 0; *i < n && shift < 64; shift += 7) {
		uint8_t c = b[(*i)++];
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) return 1;
	}
	return 0;
}

/* Calls fn for every length-delimited occurrence of field in a protobuf
 * message; returns how many there were. */
static int pb_each(const uint8_t* b, size_t n, unsigned field,
                   void (*fn)(const uint8_t*, size_t, void*), void* arg) {
	size_t i = 0;
	int count = 0;
	while (i < n) {
		uint64_t key, v;
		if (!varint(b, n, &i, &key)) return count;
		switch (key & 7) {
		case 0:
			if (!varint(b, n, &i, &v)) return count;
			break;
		case 1: i += 8; break;
		case 5: i += 4; break;
		case 2:
			if (!varint(b, n, &i, &v) || v > n - i) return count;
			if ((key >> 3) == field) {
				if (fn) fn(b + i, (size_t)v, arg);
				count++;
			}
			i += (size_t)v;
			break;
		default: return count;
		}
	}
	return count;
}

static void copy_id(const uint8_t* b, size_t n, void* out) {
	snprintf(out, 32, "%.*s", (int)n, (const char*)b);
}

/* The message id (field 1) of SDS wire bytes. */
static void wire_id(const uint8_t* b, size_t n, char out[32]) {
	out[0] = 0;
	pb_each(b, n, 1, copy_id, out);
}

/* Appends the id of a repair-request entry (field 1 of the entry). */
static void append_request(const uint8_t* b, size_t n, void* list) {
	char id[32];
	wire_id(b, n, id);
	if (((char*)list)[0]) strcat(list, ", ");
	strcat(list, id);
}

/* ---- output -------------------------------------------------------------- */

/* Prints a line of the log (after any pending run of deliveries). */
static void say(const char* fmt, ...) {
	flush_run();
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* ---- the network --------------------------------------------------------- */

/* Broadcasts wire bytes from sender to every online peer, except those in
 * the NULL-terminated list lost; prints who it reached. */
static void broadcast(Participant* from, const uint8_t* wire, size_t n, const char* what,
                      Participant** lost) {
	char id[32], reached[64] = "";
	wire_id(wire, n, id);
	for (int i = 0; i < N_PARTICIPANTS; i++) {
		Participant* p = everyone[i];
		int drop = !p->online;
		for (int j = 0; lost && lost[j]; j++) drop |= lost[j] == p;
		if (p == from || drop) continue;
		if (p->ninbox == MAXQ) {
			check(0, "%s's inbox is full", p->name);
			continue;
		}
		Packet* k = &p->inbox[p->ninbox++];
		k->data = malloc(n);
		memcpy(k->data, wire, n);
		k->len = n;
		snprintf(k->id, sizeof k->id, "%s", id);
		if (reached[0]) strcat(reached, ", ");
		strcat(reached, p->name);
	}
	say("  %-6s -> %s (%zu bytes): %s\n", from->name, what, n,
	       reached[0] ? reached : "lost for everyone");
}

/* Wraps and broadcasts a message; keeps a copy of its wire bytes in *keep
 * if keep is not NULL. */
static void send_keep(Participant* from, const char* id, Participant** lost, Packet* keep) {
	char content[64];
	snprintf(content, sizeof content, "%s from %s", id, from->name);
	uint8_t* wire = NULL;
	size_t n = 0;
	char* err = NULL;
	if (SdsWrapOutgoingMessageBinary(from->ctx, content, strlen(content), id, CHANNEL, &wire, &n,
	                                 &err) != RET_OK) {
		check(0, "%s cannot wrap %s: %s", from->name, id, err ? err : "?");
		SdsFree(err);
		return;
	}
	from->sent++;
	broadcast(from, wire, n, id, lost);
	if (keep) {
		keep->data = malloc(n);
		memcpy(keep->data, wire, n);
		keep->len = n;
		snprintf(keep->id, sizeof keep->id, "%s", id);
	}
	SdsFree(wire);
}

static void send_msg(Participant* from, const char* id, Participant** lost) { send_keep(from, id, lost, NULL); }

static void drain(void);

/* Hands p the packets of its inbox, the first ones in the given order
 * (indices; NULL: as queued), draining the events each one caused (which
 * may queue more packets, handled after them). */
static void receive(Participant* p, const int* order, int ordered) {
	if (ordered > p->ninbox) ordered = p->ninbox;
	for (int i = 0; i < p->ninbox; i++) {
		Packet* k = &p->inbox[i < ordered ? order[i] : i];
		SdsUnwrapResult* r = NULL;
		char* err = NULL;
		if (SdsUnwrapReceivedMessageBinary(p->ctx, k->data, k->len, &r, &err) != RET_OK) {
			check(0, "%s cannot unwrap %s: %s", p->name, k->id, err ? err : "?");
			SdsFree(err);
		} else {
			if (r->flags & SDS_UNWRAP_DUPLICATE) {
				p->duplicates++;
				say("  %-6s = %s again: a duplicate, ignored\n", p->name, k->id);
			}
			SdsFree(r);
		}
		drain();
	}
	for (int i = 0; i < p->ninbox; i++) free(p->inbox[i].data);
	p->ninbox = 0;
}

static void receive_all(void) {
	for (int i = 0; i < N_PARTICIPANTS; i++)
		if (everyone[i]->online) receive(everyone[i], NULL, 0);
}

/* ---- events ---------------------------------------------------------------- */

static int has(char list[][32], int n, const char* id) {
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], id) == 0) return 1;
	return 0;
}

static int index_of(char list[][32], int n, const char* id) {
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], id) == 0) return i;
	return -1;
}

/* Consecutive message_ready / message_sent events of one participant are
 * printed on one line. */
static Participant* run_p;
static char run_kind[16], run_ids[256];

static void flush_run(void) {
	if (run_p == NULL) return;
	if (strcmp(run_kind, "ready") == 0)
		printf("  %-6s + delivers %s\n", run_p->name, run_ids);
	else
		printf("  %-6s v %s acknowledged\n", run_p->name, run_ids);
	run_p = NULL;
}

static void add_run(Participant* p, const char* kind, const char* id) {
	if (run_p != p || strcmp(run_kind, kind) != 0) {
		flush_run();
		run_p = p;
		snprintf(run_kind, sizeof run_kind, "%s", kind);
		run_ids[0] = 0;
	}
	if (run_ids[0]) strcat(run_ids, ", ");
	strncat(run_ids, id, sizeof run_ids - strlen(run_ids) - 1);
}

static void handle(Participant* p, const char* ev) {
	char type[32] = "", id[32] = "";
	json_str(ev, "eventType", type, sizeof type);
	json_str(ev, "messageId", id, sizeof id);
	if (strcmp(type, "message_ready") == 0) {
		check(!has(p->delivered, p->ndelivered, id), "%s delivers %s twice", p->name, id);
		if (p->ndelivered < MAXMSG) snprintf(p->delivered[p->ndelivered++], 32, "%s", id);
		add_run(p, "ready", id);
		return;
	}
	if (strcmp(type, "message_sent") == 0) {
		if (p->nacked < MAXMSG) snprintf(p->acked[p->nacked++], 32, "%s", id);
		add_run(p, "sent", id);
		return;
	}
	flush_run();
	if (strcmp(type, "missing_dependencies") == 0) {
		/* "missingDeps":[{"messageId":"a1",...},...] */
		char deps[256] = "";
		const char* s = strstr(ev, "\"missingDeps\":");
		while (s && (s = strstr(s, "\"messageId\":\"")) != NULL) {
			char dep[32];
			json_str(s, "messageId", dep, sizeof dep);
			if (deps[0]) strcat(deps, ", ");
			strcat(deps, dep);
			s += 13;
		}
		p->missing++;
		p->gap_at = now_ms();
		say("  %-6s ? %s waits for %s\n", p->name, id, deps);
	} else if (strcmp(type, "message_resend") == 0 || strcmp(type, "repair_ready") == 0) {
		/* Both carry wire bytes to broadcast again. */
		const char* b64 = strstr(ev, "\"message\":\"");
		uint8_t* wire = NULL;
		long n = b64 ? unbase64(b64 + 11, strcspn(b64 + 11, "\""), &wire) : -1;
		if (n <= 0) {
			check(0, "%s: undecodable event %s", p->name, ev);
			return;
		}
		char what[64], wid[32];
		wire_id(wire, n, wid);
		if (type[8] == 'r') { /* message_resend */
			p->resends++;
			say("  %-6s ~ %s still unacknowledged: the library hands it back (resend)\n", p->name, id);
			snprintf(what, sizeof what, "%s again", wid);
		} else {
			p->repairs++;
			say("  %-6s * answers the repair request for %s\n", p->name, wid);
			snprintf(what, sizeof what, "%s (repair)", wid);
		}
		broadcast(p, wire, n, what, NULL);
		free(wire);
	} else if (strcmp(type, "repair_request") == 0) {
		/* SDS-R: a sync message carrying p's due repair requests. */
		const char* b64 = strstr(ev, "\"message\":\"");
		uint8_t* wire = NULL;
		long n = b64 ? unbase64(b64 + 11, strcspn(b64 + 11, "\""), &wire) : -1;
		char asked[128] = "";
		if (n <= 0 || pb_each(wire, n, 13, append_request, asked) == 0) {
			check(0, "%s: a repair_request without requests: %s", p->name, ev);
			free(wire);
			return;
		}
		p->asked++;
		say("  %-6s ! asks the group for %s (SDS-R request in a sync message, %lld ms later)\n", p->name, asked,
		    now_ms() - p->gap_at);
		broadcast(p, wire, n, "sync", NULL);
		free(wire);
	} else if (strcmp(type, "message_failed") == 0) {
		p->failed++;
		say("  %-6s x %s failed: never acknowledged\n", p->name, id);
	} else if (strcmp(type, "periodic_sync") != 0) {
		say("  %-6s   event %s\n", p->name, ev);
	}
}

/* Handles the queued events, and the packets they sent, until none is
 * left. */
static void drain(void) {
	for (;;) {
		pthread_mutex_lock(&queue_mu);
		if (nqueue == 0) {
			pthread_mutex_unlock(&queue_mu);
			break;
		}
		Event e = queue[0];
		memmove(queue, queue + 1, (size_t)--nqueue * sizeof queue[0]);
		pthread_mutex_unlock(&queue_mu);
		handle(e.p, e.json);
		free(e.json);
	}
}

/* Polls (events, network) until cond holds or ms pass. */
static int wait_until(int (*cond)(void), int ms) {
	long long end = now_ms() + ms;
	for (;;) {
		drain();
		receive_all();
		if (cond()) return 1;
		if (now_ms() > end) return 0;
		sleep_ms(2);
	}
}

/* ---- metrics -------------------------------------------------------------
 * SdsGetStats answers one JSON object (include/libsds.h lists every key).
 * The manager's counters come first in it, so a key's first occurrence is
 * the manager's figure. */

static void on_stats(int ret, const char* msg, size_t len, void* userData) {
	char** out = userData;
	if (ret == RET_OK && msg != NULL && (*out = malloc(len + 1)) != NULL) {
		memcpy(*out, msg, len);
		(*out)[len] = 0;
	}
}

static long stat_of(const char* json, const char* key) {
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char* at = strstr(json, pat);
	return at ? strtol(at + strlen(pat), NULL, 10) : -1;
}

/* Prints p's stats line; returns its "delivered" counter (-1: no stats). */
static long print_stats(Participant* p) {
	char* json = NULL;
	SdsGetStats(p->ctx, on_stats, &json);
	if (json == NULL) return -1;
	long delivered = stat_of(json, "delivered");
	say("  %-6s stats: delivered %ld, duplicates %ld, acknowledged %ld, resends %ld, repairs answered %ld, "
	    "repairs arrived %ld, bytes sent %ld, received %ld\n",
	    p->name, delivered, stat_of(json, "duplicates"),
	    stat_of(json, "acknowledgedByHistory") + stat_of(json, "acknowledgedByBloom"), stat_of(json, "resends"),
	    stat_of(json, "repairsAnswered"), stat_of(json, "repairsArrived"), stat_of(json, "bytesSent"),
	    stat_of(json, "bytesReceived"));
	free(json);
	return delivered;
}

/* ---- participants ------------------------------------------------------- */

static void start(Participant* p) {
	Result r = {0};
	p->ctx = SdsNewReliabilityManagerWithConfig(p->config, on_result, &r);
	if (p->ctx == NULL) {
		fprintf(stderr, "%s: %s\n", p->name, r.text);
		exit(1);
	}
	SdsSetEventCallback(p->ctx, on_event, p);
	/* The resend sweep and SDS-R answers run on the library's thread. */
	SdsStartPeriodicTasks(p->ctx, on_result, &r);
	p->online = 1;
}

static void stop(Participant* p) {
	Result r = {0};
	SdsCleanupReliabilityManager(p->ctx, on_result, &r);
	p->ctx = NULL;
	p->online = 0;
	drain();
	for (int i = 0; i < p->ninbox; i++) free(p->inbox[i].data); /* lost: p is offline */
	p->ninbox = 0;
}

/* SDS-R: p's repair requests fall due T_req (repairTMinMs) after it noticed
 * the gap; the library then hands p a sync message carrying them
 * (repair_request), which handle() broadcasts. */
static Participant* asking;
static int asked_before;
static int asked_again(void) { return asking->asked > asked_before; }

static int ask_for_repairs(Participant* p) {
	asking = p;
	asked_before = p->asked;
	if (wait_until(asked_again, 3000)) return 1;
	check(0, "%s never asked for a repair", p->name);
	return 0;
}

static int bob_has_a5(void) { return has(bob.delivered, bob.ndelivered, "a5"); }
static int bob_has_a7(void) { return has(bob.delivered, bob.ndelivered, "a7"); }
static int carol_resent(void) { return carol.resends > 0; }
static int c1_everywhere(void) {
	return has(alice.delivered, alice.ndelivered, "c1") && has(bob.delivered, bob.ndelivered, "c1");
}

/* a delivered before b, both delivered. */
static int before(Participant* p, const char* a, const char* b) {
	int i = index_of(p->delivered, p->ndelivered, a), j = index_of(p->delivered, p->ndelivered, b);
	return i >= 0 && j >= 0 && i < j;
}

/* Each sender's messages were delivered in the order sent (a1 before a2,
 * ...): ids are a sender's letter and a number. */
static int in_sender_order(Participant* p) {
	int last[26] = {0};
	for (int i = 0; i < p->ndelivered; i++) {
		int who = p->delivered[i][0] - 'a', k = atoi(p->delivered[i] + 1);
		if (who < 0 || who >= 26 || k <= last[who]) return 0;
		last[who] = k;
	}
	return 1;
}

int main(int argc, char** argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	char dir[] = "/tmp/sds-example-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	for (int i = 0; i < N_PARTICIPANTS; i++) {
		Participant* p = everyone[i];
		/* Short windows so the story runs in real time: SDS-R requests fall
		 * due 100 ms after a gap is noticed; carol, on a flaky link, resends
		 * after 100 ms (the others keep the default minute). */
		snprintf(p->config, sizeof p->config,
		         "{\"participantId\":\"%s\",\"storePath\":\"%s/%s.db\","
		         "\"repairTMinMs\":100,\"repairTMaxMs\":100,\"repairSweepIntervalMs\":10,"
		         "\"bufferSweepIntervalMs\":10%s}",
		         p->name, dir, p->name,
		         p == &carol ? ",\"resendIntervalMs\":100,\"possiblyAckedResendIntervalMs\":100" : "");
		start(p);
	}
	say("SDS over a lossy broadcast: alice, bob and carol on \"%s\" (libsds %s)\n", CHANNEL,
	       SdsVersion());
	(void)argc, (void)argv;

	say("\n1. Reordering: alice sends a1, a2, a3; bob receives a3 first\n");
	send_msg(&alice, "a1", NULL);
	send_msg(&alice, "a2", NULL);
	send_msg(&alice, "a3", NULL);
	receive(&carol, NULL, 0);
	int reorder[] = {2, 0, 1};
	receive(&bob, reorder, 3);
	check(bob.missing == 1, "bob should have waited for a1 and a2");
	check(before(&bob, "a1", "a2") && before(&bob, "a2", "a3"), "bob should deliver a1, a2, a3 in order");

	say("\n2. Acknowledgements: bob replies; his message names what he has\n");
	send_msg(&bob, "b1", NULL);
	receive_all();
	check(has(alice.acked, alice.nacked, "a1") && has(alice.acked, alice.nacked, "a3"),
	      "alice should see a1..a3 acknowledged");

	say("\n3. Resend: carol's c1 is lost for everyone\n");
	Participant* all_lost[] = {&alice, &bob, NULL};
	send_msg(&carol, "c1", all_lost);
	check(wait_until(carol_resent, 3000), "carol's c1 should come back for a resend");
	check(wait_until(c1_everywhere, 3000), "alice and bob should get c1 from the resend");

	say("\n4. SDS-R repair: a4 is lost for bob; a5 reaches him\n");
	Participant* bob_lost[] = {&bob, NULL};
	send_msg(&alice, "a4", bob_lost);
	Packet a5copy = {0};
	send_keep(&alice, "a5", NULL, &a5copy);
	receive_all();
	check(!bob_has_a5(), "bob must hold a5 back until a4 is there");
	ask_for_repairs(&bob);
	check(wait_until(bob_has_a5, 3000), "bob should get a4 repaired and deliver a5");
	check(before(&bob, "a4", "a5"), "bob should deliver a4 before a5");
	check(has(carol.acked, carol.nacked, "c1"), "carol should see c1 acknowledged");

	say("\n5. Restart: bob goes offline (his state is in %s/bob.db)\n", dir);
	stop(&bob);
	send_msg(&alice, "a6", NULL);
	receive_all();
	say("  bob comes back: a new manager over the same file\n");
	start(&bob);
	/* A late copy of a5, still in the network, reaches him: he remembers
	 * it. */
	say("  %-6s -> a5 again (a late copy): bob\n", "net");
	int dups = bob.duplicates;
	bob.inbox[bob.ninbox++] = a5copy;
	receive(&bob, NULL, 0);
	check(bob.duplicates == dups + 1, "the restarted bob should know a5 already");
	Result res = {0};
	SdsWrapOutgoingMessage(bob.ctx, "again", 5, "b1", CHANNEL, on_result, &res);
	say("  bob    reusing the id b1 is refused: %s\n", res.ret == RET_ERR ? "yes, b1 is remembered" : "no!");
	check(res.ret == RET_ERR && strstr(res.text, "already used") != NULL, "bob should remember b1");
	send_msg(&alice, "a7", NULL);
	receive_all();
	check(!bob_has_a7(), "bob must hold a7 back until a6 is there");
	ask_for_repairs(&bob);
	check(wait_until(bob_has_a7, 3000), "bob should get a6 repaired and deliver a7");
	check(before(&bob, "a6", "a7"), "bob should deliver a6 before a7");

	say("\n6. Everyone says goodbye\n");
	send_msg(&bob, "b2", NULL);
	send_msg(&carol, "c2", NULL);
	send_msg(&alice, "a8", NULL);
	receive_all();
	drain();

	say("\nResult\n");
	int total = alice.sent + bob.sent + carol.sent;
	for (int i = 0; i < N_PARTICIPANTS; i++) {
		Participant* p = everyone[i];
		say("  %-6s sent %d, delivered %d of the others' %d, %d acknowledged, %d resends, %d repairs\n",
		       p->name, p->sent, p->ndelivered, total - p->sent, p->nacked, p->resends, p->repairs);
		check(p->ndelivered == total - p->sent, "%s should deliver every message of the others", p->name);
		check(p->failed == 0, "%s: no message should fail", p->name);
		check(in_sender_order(p), "%s should deliver each sender's messages in order", p->name);
	}
	check(carol.resends >= 1, "carol resent c1");
	check(alice.repairs + carol.repairs >= 2, "two repairs");

	/* The library's own counts (bob's since his restart). */
	say("\nStats (SdsGetStats)\n");
	for (int i = 0; i < N_PARTICIPANTS; i++) {
		Participant* p = everyone[i];
		long delivered = print_stats(p);
		check(delivered >= 0, "%s: SdsGetStats should answer", p->name);
		check(p == &bob || delivered == p->ndelivered, "%s's stats should count its %d deliveries", p->name,
		      p->ndelivered);
	}

	for (int i = 0; i < N_PARTICIPANTS; i++) stop(everyone[i]);
	for (int i = 0; i < N_PARTICIPANTS; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s/%s.db", dir, everyone[i]->name);
		unlink(path);
	}
	rmdir(dir);
	if (failures) {
		say("\n%d thing(s) did not happen as told.\n", failures);
		return 1;
	}
	say("\nAll three hold the same %d messages, each in causal order.\n", total);
	return 0;
}
