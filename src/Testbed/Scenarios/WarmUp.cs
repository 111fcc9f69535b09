using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Scenarios;

/// <summary>
/// Runs a few device operations through a throwaway mirror before anything is measured, so the
/// first run of a command does not pay for JIT compilation and the accelerator's first launch.
/// </summary>
public static class WarmUp
{
    /// <summary>Warms up the code paths scenarios use on <paramref name="context"/>'s device.</summary>
    public static void Run(ScenarioContext context)
    {
        using var rig = new ScenarioRig(context, LinkCoherence.Native);
        var va = rig.Map(16);
        var mirror = rig.Mirror(va, 16, new MigratePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 16 });
        ScenarioRig.Check(mirror.Run(DeviceWork.Adds(items: 64, opsPerItem: 8, firstWord: 0, span: 16L * rig.WordsPerPage, stride: rig.WordsPerPage + 1)), "warm-up");
        rig.TearDown();
    }
}
