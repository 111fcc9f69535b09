using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Runners;

namespace Testbed.Tests;

/// <summary>The accelerators the driver theories run on — the direct cpu runner and ILGPU's CPU accelerator always, a GPU where one exists — and why the others are missing.</summary>
public static class Accelerators
{
    /// <summary>cpu and ilgpu-cpu, plus cuda and opencl where an available device exists.</summary>
    public static TheoryData<AcceleratorKind> Available =>
        [.. AcceleratorKinds.All.Where(k => Missing(k) is null)];

    /// <summary>A runner on the first available accelerator of <paramref name="kind"/>.</summary>
    public static KernelRunner Create(AcceleratorKind kind) => Entry(kind).CreateRunner();

    /// <summary>The catalog's entry of <paramref name="kind"/> (it must be available).</summary>
    public static AcceleratorEntry Entry(AcceleratorKind kind) => AcceleratorCatalog.Find(kind);

    /// <summary>Why <paramref name="kind"/> has no available accelerator, or null if it has one.</summary>
    public static string? Missing(AcceleratorKind kind) => AcceleratorCatalog.Find(kind) is { IsAvailable: false } e ? e.UnavailableReason : null;
}

/// <summary>A fact that runs only where a CUDA device exists, and says why it skipped otherwise.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (Accelerators.Missing(AcceleratorKind.Cuda) is { } reason)
        {
            Skip = $"no CUDA device: {reason}";
        }
    }
}
