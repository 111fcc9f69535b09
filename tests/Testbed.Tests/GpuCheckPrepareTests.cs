using System.Text.Json;
using Testbed.TestSupport;

namespace Testbed.Tests;

/// <summary>
/// <c>scripts/gpu-check.sh --prepare</c> is how the GPU checks reach a GPU machine, which has no .NET
/// SDK: the single-file publish must succeed, the published testbed must run, and its bench must
/// run without the explore probe's rewritten assemblies, which it does not carry. Both had broken
/// without a test noticing (the publish failed on <c>Assembly.Location</c>; the bench ended at the
/// explore probe with no result). Runs alone: the publish loads both cores for about 20 s.
/// </summary>
[Collection(AloneCollection.Name)]
public sealed class GpuCheckPrepareTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("testbed-gpu-check-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var (code, output) = TestProcess.Run(file, args, timeout: TimeSpan.FromMinutes(5));
        return (code, $"{file} {string.Join(' ', args)}: exit {code}\n{output}");
    }

    [Fact]
    public void The_published_testbed_runs_and_its_bench_leaves_out_only_explore()
    {
        var (code, output) = Run("bash", Path.Combine(TestProcess.RepositoryRoot() ?? throw new InvalidOperationException("no Testbed.sln above the tests"), "scripts", "gpu-check.sh"), "--prepare", _dir.FullName);
        Assert.True(code == 0, output);
        var testbed = Path.Combine(_dir.FullName, "testbed");
        (code, output) = Run(testbed, "list");
        Assert.True(code == 0, output);
        Assert.Contains("ilgpu-cpu", output, StringComparison.Ordinal);

        var json = Path.Combine(_dir.FullName, "bench.json");
        (code, output) = Run(testbed, "bench", "--quick", "--filter", "explore", "--json", json);
        Assert.True(code == 0, output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var bench = doc.RootElement.GetProperty("scenarios")[0];
        Assert.Equal(0, bench.GetProperty("runs").GetArrayLength());
        Assert.StartsWith("explore: the Coyote-rewritten assemblies are not in ", bench.GetProperty("parameters").GetProperty("not_run").GetString(), StringComparison.Ordinal);
    }
}
