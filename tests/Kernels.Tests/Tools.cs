using Testbed.TestSupport;

namespace Testbed.Kernels.Tests;

/// <summary>
/// The native compilers the CI checks run ILGPU's output through: <c>ptxas</c> (Debian non-free CUDA
/// 11.8, fetched by <c>scripts/fetch-ptxas.sh</c> into <c>.tools/ptxas</c>, or named by
/// <c>TESTBED_PTXAS</c>) and clang's OpenCL C front end. Where one is missing the checks skip, saying
/// why; under <c>CI=true</c> they run anyway and fail, because in CI a missing compiler is a broken
/// install step, not a reason to check nothing.
/// </summary>
internal static class Tools
{
    private static readonly Lazy<string?> s_ptxas = new(() => Find("TESTBED_PTXAS", ["ptxas"], Path.Combine(TestProcess.RepositoryRoot() ?? ".", ".tools", "ptxas", "ptxas")));
    private static readonly Lazy<string?> s_clang = new(() => Find("TESTBED_CLANG", ["clang", "clang-16", "clang-15", "clang-14"], null));

    /// <summary>Whether this is a CI run, where a missing compiler fails its checks instead of skipping them.</summary>
    public static bool InCi => Environment.GetEnvironmentVariable("CI") == "true";

    /// <summary>The <c>ptxas</c> binary, or null.</summary>
    public static string? Ptxas => s_ptxas.Value;

    /// <summary>A clang with an OpenCL C front end, or null.</summary>
    public static string? Clang => s_clang.Value;

    private static string? Find(string variable, string[] names, string? fallback)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } named)
        {
            return File.Exists(named) ? named : null;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in names)
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }

        return fallback is not null && File.Exists(fallback) ? fallback : null;
    }
}

/// <summary>A theory that needs <c>ptxas</c>: skipped, saying why, where it is missing — except in CI, where it runs and fails.</summary>
public sealed class PtxasTheoryAttribute : TheoryAttribute
{
    public PtxasTheoryAttribute()
    {
        if (Tools.Ptxas is null && !Tools.InCi)
        {
            Skip = "ptxas not found: run scripts/fetch-ptxas.sh (Debian non-free CUDA 11.8) or set TESTBED_PTXAS";
        }
    }
}

/// <summary>A theory that needs clang's OpenCL C front end: skipped, saying why, where it is missing — except in CI, where it runs and fails.</summary>
public sealed class ClangTheoryAttribute : TheoryAttribute
{
    public ClangTheoryAttribute()
    {
        if (Tools.Clang is null && !Tools.InCi)
        {
            Skip = "clang not found: install Debian's clang (its OpenCL C front end compiles ILGPU's OpenCL C) or set TESTBED_CLANG";
        }
    }
}
