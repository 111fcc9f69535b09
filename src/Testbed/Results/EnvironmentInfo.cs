using System.Reflection;
using System.Runtime.InteropServices;

namespace Testbed.Results;

/// <summary>The machine and build a result came from.</summary>
public sealed record EnvironmentInfo(string Os, string Cpu, string Dotnet, string Commit)
{
    /// <summary>This process's environment; the commit is the one the build recorded (<c>unknown</c> outside a git checkout).</summary>
    public static EnvironmentInfo Current() => new(
        RuntimeInformation.OSDescription,
        $"{CpuModel()} ({Environment.ProcessorCount} logical cores, {RuntimeInformation.ProcessArchitecture})",
        RuntimeInformation.FrameworkDescription,
        typeof(EnvironmentInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "Commit")?.Value is { Length: > 0 } c ? c : "unknown");

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown CPU";
        }
    }
}
