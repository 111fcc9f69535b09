namespace Testbed.Driver;

/// <summary>Where a mirror sorts and coalesces a fault batch (<see cref="MirrorOptions.FaultSort"/>).</summary>
public enum FaultSortPlace
{
    /// <summary>On the device for GPU accelerators (cuda, opencl), by the host elsewhere.</summary>
    Auto,

    /// <summary>Always by the host, after copying every record back.</summary>
    Host,

    /// <summary>Always on the device with ILGPU.Algorithms (needs a runner that runs them: not the direct cpu runner).</summary>
    Device,
}
