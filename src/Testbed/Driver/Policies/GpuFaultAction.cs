namespace Testbed.Driver.Policies;

/// <summary>What the driver does with one faulting page of a device's fault batch.</summary>
public enum GpuFaultAction
{
    /// <summary>Migrate the page into this device's memory (<c>MigrateVma*</c>), then map it.</summary>
    Migrate,

    /// <summary>Map the page where it is (<c>HmmRangeFault</c>); atomics on a non-coherent link still need exclusivity.</summary>
    MapRemote,

    /// <summary>Make the page device-exclusive in place (<c>MakeDeviceExclusive</c>) and map it for atomics.</summary>
    MakeExclusive,

    /// <summary>Leave the fault unserviced this time; the replay faults again (UVM's GPU throttling).</summary>
    Throttle,
}
