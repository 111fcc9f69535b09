using System.Runtime.InteropServices;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Runners;

namespace Testbed.Bench;

/// <summary>
/// The physical floor a migration to the device is measured against (DESIGN §7): on the CPU
/// accelerators a plain memcpy of the same bytes; on a GPU a plain host-to-device copy through the
/// accelerator, from pageable host memory like the system arena a migration copies from — the H2D
/// limit a migration can at best reach.
/// </summary>
internal sealed unsafe class CopyFloor : IDisposable
{
    private readonly nuint _bytes;
    private readonly byte* _from;
    private readonly byte* _to;
    private readonly IDisposable? _plain;

    /// <summary>A floor for copies of <paramref name="bytes"/> on <paramref name="runner"/>.</summary>
    public CopyFloor(AcceleratorEntry device, KernelRunner runner, nuint bytes)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(runner);
        _bytes = bytes;
        _from = (byte*)NativeMemory.AlignedAlloc(bytes, 4096);
        _to = (byte*)NativeMemory.AlignedAlloc(bytes, 4096);
        NativeMemory.Fill(_from, bytes, 1);
        NativeMemory.Clear(_to, bytes);
        if (IsMemcpy(device))
        {
            Copy = () => Buffer.MemoryCopy(_from, _to, (long)_bytes, (long)_bytes);
        }
        else
        {
            var plain = runner.Allocate1D<int>((long)bytes / sizeof(int));
            _plain = plain;
            Copy = () => runner.CopyFromCPU(plain.View, new ReadOnlySpan<int>(_from, (int)_bytes / sizeof(int)));
        }
    }

    /// <summary>One copy of the floor.</summary>
    public Action Copy { get; }

    /// <summary>Whether the floor on <paramref name="device"/> is a memcpy (the CPU accelerators).</summary>
    public static bool IsMemcpy(AcceleratorEntry device) => device.Kind is AcceleratorKind.Cpu or AcceleratorKind.IlgpuCpu;

    /// <summary>What the floor is, for a target's text: "a memcpy" or "a plain copy to the device".</summary>
    public static string Of(AcceleratorEntry device) => IsMemcpy(device) ? "a memcpy" : "a plain copy to the device";

    /// <summary>Frees the buffers.</summary>
    public void Dispose()
    {
        _plain?.Dispose();
        NativeMemory.AlignedFree(_from);
        NativeMemory.AlignedFree(_to);
    }
}
