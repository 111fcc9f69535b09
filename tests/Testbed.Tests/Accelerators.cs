using Testbed.Kernels;

namespace Testbed.Tests;

/// <summary>The backends this machine offers for driver theories, and why the others are missing.</summary>
public static class Accelerators
{
    private static readonly Lazy<Context> Probe = new(Context.CreateDefault);

    /// <summary>Cpu, plus OpenCl where a device exists (PoCL in CI).</summary>
    public static TheoryData<AcceleratorType> Available =>
        [.. new[] { AcceleratorType.Cpu, AcceleratorType.OpenCl }.Where(t => Probe.Value.GetDevice(t) is not null)];

    /// <summary>An accelerator on the first available device of <paramref name="type"/>.</summary>
    public static Accelerator Create(AcceleratorType type) => Device(type).CreateAccelerator();

    /// <summary>The device of <paramref name="type"/> (it must be available).</summary>
    public static Device Device(AcceleratorType type) => Probe.Value.GetDevice(type)!;

    /// <summary>Why <paramref name="type"/> has no available device, or null if it has one.</summary>
    public static string? Missing(AcceleratorType type) => Probe.Value.GetDevice(type) is not null
        ? null
        : Probe.Value.Devices.FirstOrDefault(d => d.AcceleratorType == type)?.UnavailableReason ?? "not probed";
}

/// <summary>A fact that runs only where an OpenCL device exists, and says why it skipped otherwise.</summary>
public sealed class OpenClFactAttribute : FactAttribute
{
    public OpenClFactAttribute()
    {
        if (Accelerators.Missing(AcceleratorType.OpenCl) is { } reason)
        {
            Skip = $"no OpenCL device: {reason}";
        }
    }
}
