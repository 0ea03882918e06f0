# ---- examples/c: three participants over a lossy, reordering broadcast,
# through build/libsds.so. `make example-c` builds and runs it; it exits
# non-zero when the story it tells did not happen, so `make test` runs it.
.PHONY: example-c

$(B)/examples/sds-example: examples/c/sds_example.c include/libsds.h $(B)/libsds.so
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra -Iinclude examples/c/sds_example.c -L$(B) -lsds \
		-Wl,-rpath,'$$ORIGIN/..' -lpthread -o $@

example-c: $(B)/examples/sds-example
	$(B)/examples/sds-example

TEST_EXTRA += example-c

# Every example and binding test in one target (each also runs in `make
# test`): C, Python, Rust and Nim.
.PHONY: examples
examples: example-c python-test bindings-test
