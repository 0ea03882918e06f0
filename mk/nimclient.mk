# tests/nimclient: a host written against the Nim libsds header (its own
# declarations of the nine functions, not include/libsds.h) linked against
# build/libsds.so. NIM_HEADER=path/to/nim-sds/library/libsds.h builds it
# with the Nim header itself.
NIMCLIENT_FLAGS = -O2 -g -Wall -Wextra -Werror $(if $(NIM_HEADER),-DNIM_HEADER='"$(NIM_HEADER)"')

$(B)/tests/nimclient: tests/nimclient/nimclient.c $(B)/libsds.so
	@mkdir -p $(@D)
	$(CC) $(NIMCLIENT_FLAGS) $< -L$(B) -lsds -Wl,-rpath,'$$ORIGIN/..' -lpthread -o $@

.PHONY: nimclient-test
nimclient-test: $(B)/tests/nimclient
	$(B)/tests/nimclient

TEST_EXTRA += nimclient-test
