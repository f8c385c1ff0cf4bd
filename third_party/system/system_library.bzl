"""Binds a library installed by Debian under its canonical upstream repository name.

`system_library` makes an external repository whose labels match the upstream
project's own Bazel build (for example `@com_google_absl//absl/status:statusor`),
but whose headers are symlinks into /usr/include and whose libraries are the
system's. A user with network access can replace any one binding in WORKSPACE by
an `http_archive` of the upstream project without touching a BUILD file.

Attributes:
  symlinks: {path in the repository: absolute path on the host}.
  build_files: {BUILD template label: package path ("." for the root), or
    several package paths separated by spaces}. A template may use %{linkopts},
    replaced by a Starlark list.
  linkopts: link flags.
  pkg_config: pkg-config modules whose `--libs` are appended to linkopts.
  debian_package: named in the error when something is missing.
"""

def _fail_missing(ctx, what):
    fail(("khoabi: %s is missing on this machine. It comes from the Debian " +
          "package '%s'; run tools/setup.sh (or: sudo apt-get install %s).") %
         (what, ctx.attr.debian_package, ctx.attr.debian_package))

def _system_library_impl(ctx):
    for dst, src in ctx.attr.symlinks.items():
        if not ctx.path(src).exists:
            _fail_missing(ctx, src)
        ctx.symlink(src, dst)

    linkopts = list(ctx.attr.linkopts)
    if ctx.attr.pkg_config:
        result = ctx.execute(["pkg-config", "--libs"] + ctx.attr.pkg_config)
        if result.return_code != 0:
            _fail_missing(ctx, "pkg-config data for %s (%s)" %
                               (" ".join(ctx.attr.pkg_config), result.stderr.strip()))
        linkopts += result.stdout.strip().split(" ")

    has_root = False
    for template, packages in ctx.attr.build_files.items():
        for package in packages.split(" "):
            if package == ".":
                has_root = True
                build_path = "BUILD"
            else:
                build_path = package + "/BUILD"
            ctx.template(build_path, template, {"%{linkopts}": repr(linkopts)})
    if not has_root:
        ctx.file("BUILD", "")
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)

system_library = repository_rule(
    implementation = _system_library_impl,
    local = True,
    attrs = {
        "symlinks": attr.string_dict(),
        "build_files": attr.label_keyed_string_dict(allow_files = True),
        "linkopts": attr.string_list(),
        "pkg_config": attr.string_list(),
        "debian_package": attr.string(mandatory = True),
    },
)
