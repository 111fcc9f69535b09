namespace Testbed.HostMm.Migrate;

/// <summary><c>MIGRATE_VMA_SELECT_*</c>: which source pages <c>MigrateVmaSetup</c> collects.</summary>
[Flags]
public enum MigrateVmaFlags
{
    /// <summary>Nothing is selected; only empty anonymous entries are offered.</summary>
    None = 0,

    /// <summary>System RAM pages (and the zero page, offered as an empty entry).</summary>
    SelectSystem = 1 << 0,

    /// <summary>Device-private pages whose pgmap owner is <see cref="MigrateVma.PgmapOwner"/>.</summary>
    SelectDevicePrivate = 1 << 1,

    /// <summary>Device-coherent pages whose pgmap owner is <see cref="MigrateVma.PgmapOwner"/>.</summary>
    SelectDeviceCoherent = 1 << 2,

    /// <summary>Large folios whole; the model maps none, so this changes nothing (documented difference).</summary>
    SelectCompound = 1 << 3,
}
