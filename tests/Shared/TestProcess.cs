using System.Diagnostics;

namespace Testbed.TestSupport;

/// <summary>
/// What tests need to run a program of their own (a native compiler, a script, the published
/// testbed): the repository's root, and a run that returns the exit code with everything printed.
/// Compiled into each test project that uses it (<c>tests/Shared</c>).
/// </summary>
internal static class TestProcess
{
    /// <summary>The folder holding Testbed.sln, above the test assembly's; null outside a checkout.</summary>
    public static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Testbed.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="arguments"/>, <paramref name="input"/> (if any)
    /// on its standard input; its exit code and everything it printed, or -1 and a line saying so when
    /// it outlived <paramref name="timeout"/> (then it is killed).
    /// </summary>
    public static (int Code, string Output) Run(string file, IReadOnlyList<string> arguments, string? input = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardInput = input is not null, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            process.StandardInput.Write(input);
            process.StandardInput.Close();
        }

        if (!process.WaitForExit(timeout ?? Timeout.InfiniteTimeSpan))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} {string.Join(' ', arguments)}: still running after {timeout}");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
