# dlrepl -- build, run, test, bench, install.
#
#   make            build build/dlrepl and build/dl.so (packages already there)
#   make run        install the missing run packages, build, start the prompt
#   make test       install the missing run and test packages, build, run every suite
#   make test SAN=1 the same with AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      performance table, PyTorch measured in the same run
#   make fuzz       libFuzzer runs of the data readers, and the plot options
#                   fuzz loop (FUZZ_TIME=60 s each)
#   make deb        build/dlrepl_<version>_amd64.deb for lab machines
#   make install PREFIX=/usr/local
#
# Sources are found by wildcard: a new .c file in core/, core/kernels/,
# bindings/ or repl/ is built without touching this file.
#
# The targets that install packages (run, test, bench, fuzz, deb) first run
# scripts/install-deps and then call make again for the real work: the
# compiler flags below come from pkg-config when make reads this file, and on
# a fresh machine that is only right once the packages are there.

PREFIX  ?= /usr/local
PKGS    := lua5.4 readline openblas zlib stb fftw3f libcjson
CC      ?= cc

ifeq ($(SAN),1)
BUILD   := build/san
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(PORTABLE),1)
# For packages: any x86-64 from 2009 on (SSE4.2, POPCNT); the hot loops
# also come in AVX2 and AVX-512 versions chosen at load time (core/multiversion.h).
BUILD   := build/portable
OPT     := -O3 -march=x86-64-v2 -mtune=generic -fno-math-errno -ffp-contract=fast -g -DDL_PORTABLE
else
BUILD   := build
OPT     := -O3 -march=native -fno-math-errno -ffp-contract=fast -g
endif

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
ifneq ($(CI),)
WARN    += -Werror
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# Building without the packages would fail on every file with a confusing
# message; say what to do instead (only when something is to be compiled).
BUILD_GOALS := $(filter all $(BUILD)/% build/%,$(or $(MAKECMDGOALS),all))
ifneq ($(BUILD_GOALS),)
ifeq ($(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes),)
$(error the packages to build dlrepl are missing: run 'make deps' (or 'make run' / 'make test', which install them first))
endif
endif

CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fPIC -fopenmp -Icore -Ibindings -I$(BUILD)/gen $(PKG_CFLAGS)
LDFLAGS += $(OPT) -fopenmp
LDLIBS  += $(PKG_LIBS) -lmvec -lm

CORE_SRC     := $(wildcard core/*.c core/kernels/*.c core/nn/*.c core/optim/*.c core/io/*.c \
                          core/plot/*.c)
BINDINGS_SRC := $(wildcard bindings/*.c)
REPL_SRC     := $(wildcard repl/*.c)
LUA_MODULES  := $(sort $(wildcard bindings/lua/dl/*.lua))

CORE_OBJ     := $(CORE_SRC:%.c=$(BUILD)/%.o)
BINDINGS_OBJ := $(BINDINGS_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/lua_modules.o
REPL_OBJ     := $(REPL_SRC:%.c=$(BUILD)/%.o)

.PHONY: all run test test-suites bench bench-run deps deps-test install clean fuzz fuzz-run deb deb-build

# dl.dist's MPI module (dist/mpi_backend.c), which bindings/ldist.c loads
# with dlopen under mpirun: built only where Open MPI is found, so the
# prompt and dl.so never link libmpi and run without it.
MPI_FLAGS  := $(shell pkg-config --cflags --libs ompi 2>/dev/null)
MPI_MODULE := $(if $(MPI_FLAGS),$(BUILD)/dl_mpi.so)
ifeq ($(MPI_FLAGS)$(BUILD_GOALS),all)
$(info note: Open MPI not found (libopenmpi-dev): $(BUILD)/dl_mpi.so is skipped, dl.dist runs as a world of one)
endif

all: $(BUILD)/dlrepl $(BUILD)/dl.so $(BUILD)/libdlcore.a $(MPI_MODULE)

$(BUILD)/dl_mpi.so: dist/mpi_backend.c dist/mpi_backend.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fPIC -pthread -shared $< -o $@ $(MPI_FLAGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# help() reads the reference pages docs/ref/*.md, embedded as dl.help_data.
HELP_PAGES   := $(sort $(wildcard docs/ref/*.md))

$(BUILD)/gen/help_data.lua: scripts/help-data.lua $(HELP_PAGES)
	@mkdir -p $(dir $@)
	lua5.4 scripts/help-data.lua $@ $(HELP_PAGES)

$(BUILD)/gen/lua_modules.c: scripts/embed-lua.lua $(LUA_MODULES) $(BUILD)/gen/help_data.lua
	@mkdir -p $(dir $@)
	lua5.4 scripts/embed-lua.lua $@ $(LUA_MODULES) $(BUILD)/gen/help_data.lua

$(BUILD)/gen/lua_modules.o: $(BUILD)/gen/lua_modules.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libdlcore.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/dl.so: $(BINDINGS_OBJ) $(CORE_OBJ)
	$(CC) -shared $(LDFLAGS) $^ -o $@ $(filter-out -llua5.4 -lreadline,$(LDLIBS))

$(BUILD)/dlrepl: $(REPL_OBJ) $(BINDINGS_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -Wl,-E $^ -o $@ $(LDLIBS)

deps:
	@scripts/install-deps run

deps-test:
	@scripts/install-deps test

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/dlrepl

# test, bench, fuzz and deb install first, then make reads this file again
# (see the top) for the real work: test-suites, bench-run, fuzz-run, deb-build.
test: deps-test
	@$(MAKE) --no-print-directory test-suites

# run-tests builds the parts itself (make -k), so one part that does not build
# is reported as a failure while the suites of the others still run.
test-suites:
	@BUILD=$(BUILD) SAN=$(SAN) CC="$(CC)" CFLAGS="$(CFLAGS)" LDLIBS="$(LDLIBS)" MAKE="$(MAKE)" scripts/run-tests

bench: deps-test
	@$(MAKE) --no-print-directory bench-run

bench-run: $(BUILD)/libdlcore.a $(BUILD)/dl.so $(BUILD)/dlrepl
	@$(MAKE) --no-print-directory PORTABLE=1 build/portable/dl.so
	@BUILD=$(BUILD) PORTABLE_BUILD=build/portable CC="$(CC)" CFLAGS="$(CFLAGS)" LDLIBS="$(LDLIBS)" scripts/bench/run

# The Debian package is built from the portable build (see PORTABLE above).
deb: deps-test
	@$(MAKE) --no-print-directory deb-build

deb-build:
	@$(MAKE) --no-print-directory PORTABLE=1 all
	@scripts/make-deb build/portable

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lua/5.4 $(DESTDIR)$(PREFIX)/share/doc/dlrepl
	install -m 755 $(BUILD)/dlrepl $(DESTDIR)$(PREFIX)/bin/dlrepl
	install -m 644 $(BUILD)/dl.so $(DESTDIR)$(PREFIX)/lib/lua/5.4/dl.so
	install -m 644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/dlrepl/

# ---- fuzzing: clang's libFuzzer on the CSV, IDX, image and safetensors readers
# The readers (and stb_image, from Debian's header) are rebuilt with the
# fuzzer's coverage and ASan + UBSan; the rest of the core is the normal
# build. tests/fuzz/run runs each target FUZZ_TIME seconds from its seed
# corpus tests/fuzz/corpus_*; new inputs and findings go to build/fuzz/.
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 -Icore $(shell pkg-config --cflags zlib stb libcjson) \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_IO_OBJ  := $(patsubst %,build/fuzz/io/%.o,source csv csv_lex csv_number strset idx image_check \
                image image_resize safetensors) build/fuzz/stb_image_impl.o
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

build/fuzz/io/%.o: core/io/%.c $(wildcard core/io/*.h) core/dl.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/stb_image_impl.o: tests/fuzz/stb_image_impl.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -w -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_IO_OBJ) $(BUILD)/libdlcore.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $^ -o $@ \
	    $(filter-out -llua5.4 -lreadline -lstb,$(LDLIBS)) -lgomp

FUZZ_LUA     := $(wildcard tests/fuzz/fuzz_*.lua)

fuzz: deps-test
	@$(MAKE) --no-print-directory fuzz-run

fuzz-run: $(FUZZ_TARGETS) $(BUILD)/dl.so
	@DL_BUILD=$(BUILD) tests/fuzz/run $(FUZZ_TIME) $(FUZZ_TARGETS) $(FUZZ_LUA)

clean:
	rm -rf build

-include $(CORE_OBJ:.o=.d) $(BINDINGS_OBJ:.o=.d) $(REPL_OBJ:.o=.d)
