namespace Testbed.Kernels.Tests;

/// <summary>The backends this machine offers, for theories that run on each; and why others are missing.</summary>
public static class Backends
{
    private static readonly Lazy<Context> Probe = new(Context.CreateDefault);

    /// <summary>Every backend with an available device.</summary>
    public static TheoryData<AcceleratorType> Available =>
        [.. Enum.GetValues<AcceleratorType>().Where(t => Probe.Value.GetDevice(t) is not null)];

    /// <summary>Why <paramref name="type"/> has no available device, or null if it has one.</summary>
    public static string? Missing(AcceleratorType type) => Probe.Value.GetDevice(type) is not null
        ? null
        : Probe.Value.Devices.FirstOrDefault(d => d.AcceleratorType == type)?.UnavailableReason ?? "not probed";

    /// <summary>An accelerator on the first available device of <paramref name="type"/>.</summary>
    public static Accelerator Create(AcceleratorType type) => Probe.Value.GetDevice(type)!.CreateAccelerator();
}

/// <summary>A fact that runs only where an OpenCL device exists, and says why it skipped otherwise.</summary>
public sealed class OpenClFactAttribute : FactAttribute
{
    public OpenClFactAttribute()
    {
        if (Backends.Missing(AcceleratorType.OpenCl) is { } reason)
        {
            Skip = $"no OpenCL device: {reason}";
        }
    }
}

/// <summary>A fact that runs only where a CUDA device exists, and says why it skipped otherwise.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (Backends.Missing(AcceleratorType.Cuda) is { } reason)
        {
            Skip = $"no CUDA device: {reason}";
        }
    }
}
