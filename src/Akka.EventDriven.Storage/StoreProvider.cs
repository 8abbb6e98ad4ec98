using Akka.Persistence.Sql;
using Npgsql;

namespace Akka.EventDriven.Storage;

/// <summary>The database that stores events and snapshots.</summary>
public enum StoreProvider
{
    /// <summary>An SQLite file: the embedded default, nothing to install.</summary>
    Sqlite,
    /// <summary>PostgreSQL through Npgsql: the production store.</summary>
    PostgreSql,
}
