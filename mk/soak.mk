# ---- Load: make soak (not part of make test). bench/soak.c pushes
# SOAK_MESSAGES messages over SOAK_CHANNELS channels among three managers
# through the C ABI with 10% loss, checks every message is delivered
# exactly once (or marked met) everywhere and that RSS stops growing after
# the warm-up. make soak-asan runs a shorter soak with the program under
# AddressSanitizer (callback buffers, results and events the library hands
# over are read and released by the host), make soak-valgrind one under
# valgrind's memcheck against the valgrind build of the library.
SOAK_MESSAGES ?= 1000000
SOAK_CHANNELS ?= 100
SOAK_FLAGS ?=
SOAK_SHORT ?= 60000 20

$(B)/sds-soak: bench/soak.c include/libsds.h tests/resp.h $(B)/libsds.so
	$(CC) -O2 -g -Wall -Wextra -Wno-unused-parameter -Iinclude -Itests bench/soak.c -L$(B) -lsds -Wl,-rpath,'$$ORIGIN' -lpthread -o $@

$(B)/asan/sds-soak: bench/soak.c include/libsds.h tests/resp.h $(B)/libsds.so
	@mkdir -p $(@D)
	$(CC) -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -Wall -Iinclude -Itests bench/soak.c -L$(B) -lsds -Wl,-rpath,'$$ORIGIN/..' -lpthread -o $@

$(B)/valgrind/sds-soak: bench/soak.c include/libsds.h tests/resp.h $(B)/valgrind/libsds.so
	$(CC) -O1 -g -Wall -Iinclude -Itests bench/soak.c -L$(B)/valgrind -lsds -Wl,-rpath,'$$ORIGIN' -lpthread -o $@

.PHONY: soak soak-asan soak-valgrind
soak: $(B)/sds-soak
	nice $(B)/sds-soak $(SOAK_MESSAGES) $(SOAK_CHANNELS) $(SOAK_FLAGS)

# ASan checks every access the host makes to the C buffers the library
# hands it (and their release). Its leak checker is off: it does not scan
# the Go heap, so buffers the library still holds (the retention queue)
# look leaked; make soak-valgrind checks leaks (valgrind scans all memory).
soak-asan: $(B)/asan/sds-soak
	ASAN_OPTIONS=detect_leaks=0 $(B)/asan/sds-soak $(SOAK_SHORT) --no-rss-check $(SOAK_FLAGS)

soak-valgrind: $(B)/valgrind/sds-soak
	GOGC=off GODEBUG=asyncpreemptoff=1 $(VALGRIND) $(VG_FLAGS) $(B)/valgrind/sds-soak 3000 10 --no-rss-check
