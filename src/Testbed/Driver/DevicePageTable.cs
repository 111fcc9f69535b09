using ILGPU;
using ILGPU.Runtime;
using Testbed.Kernels.Runners;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Driver;

/// <summary>
/// A device's page table over the mirrored range: one <see cref="DevicePte"/> per page, kept on the
/// host and uploaded to the device before a launch when it changed since the last upload. Every
/// method is called with the driver's mutex held.
/// </summary>
internal sealed class DevicePageTable : IDisposable
{
    private readonly KernelRunner _runner;
    private readonly uint[] _entries;
    private readonly MemoryBuffer1D<uint, Stride1D.Dense> _device;
    private long _generation;
    private long _uploaded = -1;

    public DevicePageTable(KernelRunner runner, long pages)
    {
        _runner = runner;
        _entries = new uint[pages];
        _device = runner.Allocate1D<uint>(pages);
    }

    /// <summary>The table as kernels see it.</summary>
    public ArrayView<uint> View => _device.View;

    /// <summary>The entry of <paramref name="page"/>.</summary>
    public uint this[long page] => _entries[page];

    /// <summary>Sets the entry of <paramref name="page"/>.</summary>
    public void Set(long page, uint entry)
    {
        _entries[page] = entry;
        _generation++;
    }

    /// <summary>Clears the entries of pages <c>[first, end)</c>; whether any was set (valid or <see cref="DevicePte.Fatal"/>).</summary>
    public bool Zap(long first, long end)
    {
        var any = false;
        for (var p = first; p < end; p++)
        {
            any |= _entries[p] != 0;
            _entries[p] = 0;
        }

        if (any)
        {
            _generation++;
        }

        return any;
    }

    /// <summary>Copies the table to the device if it changed since the last upload.</summary>
    public void Upload()
    {
        if (_uploaded != _generation)
        {
            _runner.CopyFromCPU<uint>(_device.View, _entries);
            _uploaded = _generation;
        }
    }

    public void Dispose() => _device.Dispose();
}
