using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Tests;

/// <summary>The accelerators this machine offers, for theories that run on each; and why the others are missing.</summary>
public static class Runners
{
    /// <summary>Every kind with an available accelerator: cpu and ilgpu-cpu always, cuda and opencl where a device exists.</summary>
    public static TheoryData<AcceleratorKind> Available => [.. AcceleratorKinds.All.Where(k => Missing(k) is null)];

    /// <summary>The available kinds that run ILGPU.Algorithms (all but the direct cpu runner).</summary>
    public static TheoryData<AcceleratorKind> RunningAlgorithms => [.. AcceleratorKinds.All.Where(k => k != AcceleratorKind.Cpu && Missing(k) is null)];

    /// <summary>A runner on the first available accelerator of <paramref name="kind"/>.</summary>
    public static KernelRunner Create(AcceleratorKind kind) => AcceleratorCatalog.Find(kind).CreateRunner();

    /// <summary>Why <paramref name="kind"/> has no available accelerator, or null if it has one.</summary>
    public static string? Missing(AcceleratorKind kind) => AcceleratorCatalog.Find(kind) is { IsAvailable: false } e ? e.UnavailableReason : null;
}

/// <summary>A fact that runs only where a CUDA device exists, and says why it skipped otherwise.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (Runners.Missing(AcceleratorKind.Cuda) is { } reason)
        {
            Skip = $"no CUDA device: {reason}";
        }
    }
}
