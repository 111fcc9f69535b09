namespace Testbed.Driver.Policies;

/// <summary>
/// A policy's answer to a CPU fault on a device-private page: migrate now, or wait
/// <see cref="WaitTicks"/> (<see cref="System.Diagnostics.Stopwatch"/> ticks) and fault again.
/// </summary>
public readonly record struct CpuFaultDecision(bool Migrate, long WaitTicks)
{
    /// <summary>Migrate the page to system memory now.</summary>
    public static CpuFaultDecision MigrateNow => new(true, 0);

    /// <summary>Do not migrate; wait and let the CPU fault again (a timeslice that has not expired, UVM's CPU throttling).</summary>
    public static CpuFaultDecision Refuse(long ticks) => new(false, ticks);
}
