# The addon (set-up only: open and register through the C ABI). It builds against
# the installed Node.js headers (see .npmrc: nodedir=/usr, nothing is downloaded)
# and libshmstats: $SHMSTATS_INCLUDE_DIR and $SHMSTATS_LIB_DIR name a build tree's,
# else the repository's headers and the system's library.
{
  "variables": {
    "shmstats_include%": "<!(node -p \"process.env.SHMSTATS_INCLUDE_DIR || require('path').resolve('../../libshm/include')\")",
    "shmstats_libdir%": "<!(node -p \"process.env.SHMSTATS_LIB_DIR || ''\")",
  },
  "targets": [
    {
      "target_name": "shmstats",
      "sources": ["src/addon.c", "src/mapping.c"],
      "include_dirs": ["<(shmstats_include)"],
      "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-O2"],
      "libraries": ["-lshmstats"],
      "conditions": [
        ["shmstats_libdir!=''", {
          "libraries": ["-L<(shmstats_libdir)", "-Wl,-rpath,<(shmstats_libdir)"],
        }],
      ],
    },
  ],
}
