namespace Akka.EventDriven.Service.Tests;

/// <summary>The environment parser: defaults, seeds, and a clear error naming the variable for every bad value.</summary>
public sealed class ServiceSettingsSpec
{
    private static readonly string Hocon = Path.Combine(
        ServiceProcess.ServiceDll[..ServiceProcess.ServiceDll.LastIndexOf(Path.DirectorySeparatorChar)], "hocon");

    private static ServiceSettings Parse(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value);
        return ServiceSettings.FromEnvironment(n => map.GetValueOrDefault(n), Hocon);
    }

    [Fact]
    public void Without_variables_the_service_is_a_development_node_on_port_3000_with_SQLite_that_joins_itself()
    {
        var s = Parse();
        Assert.Equal("eventdriven", s.ServiceName);
        Assert.Equal("development", s.Environment);
        Assert.Equal("Development", s.HostEnvironmentName);
        Assert.Equal(3000, s.HttpPort);
        Assert.Equal("0.0.0.0", s.HttpHost);
        Assert.Null(s.DatabaseUrl);
        Assert.Equal($"Data Source={Path.Combine("data", "eventdriven.db")}", s.SqliteConnectionString);
        Assert.Empty(s.Seeds);
        Assert.Contains("join-self-when-no-seed-nodes = on", s.ToHocon());
    }

    [Fact]
    public void Seeds_may_be_host_port_or_full_addresses_of_the_same_system()
    {
        var s = Parse(("SERVICE_NAME", "orders"), ("AKKA_SEEDS", "10.0.0.1:4053, akka.tcp://orders@node-2:4053"),
            ("AKKA_HOSTNAME", "node-1"), ("AKKA_PORT", "4053"), ("DATABASE_URL", "postgresql://u:p@db:5432/events"),
            ("KAFKA_BROKERS", "k1:9092,k2:9092"));
        Assert.Equal(["akka.tcp://orders@10.0.0.1:4053", "akka.tcp://orders@node-2:4053"], s.Seeds);
        var hocon = s.ToHocon();
        Assert.Contains("akka.remote.dot-netty.tcp.public-hostname = \"node-1\"", hocon);
        Assert.Contains("akka.remote.dot-netty.tcp.port = 4053", hocon);
        Assert.Contains("join-self-when-no-seed-nodes = off", hocon);
        Assert.Contains("akka.event-driven.kafka.bootstrap-servers = \"k1:9092,k2:9092\"", hocon);
        Assert.Contains("Host=db", s.DatabaseUrl);
    }

    [Theory]
    [InlineData("SERVICE_NAME", "has space")]
    [InlineData("AKKA_ENV", "staging")]
    [InlineData("AKKA_ENV", "../etc")]
    [InlineData("DATABASE_URL", "postgresql://")]
    [InlineData("KAFKA_BROKERS", "broker-without-port")]
    [InlineData("PORT", "http")]
    [InlineData("PORT", "0")]
    [InlineData("PORT", "70000")]
    [InlineData("HTTP_HOST", "not a host")]
    [InlineData("AKKA_HOSTNAME", "bad host")]
    [InlineData("AKKA_PORT", "-1")]
    [InlineData("AKKA_SEEDS", "node-1")]
    [InlineData("AKKA_SEEDS", "akka.tcp://other-system@node-1:4053")]
    [InlineData("AKKA_SEEDS", "akka.tcp://eventdriven@node-1")]
    [InlineData("EVENTDRIVEN_API_KEYS", "short:admin")]
    [InlineData("EVENTDRIVEN_API_KEYS", "long-enough-key-0123456789:root")]
    public void A_bad_value_fails_with_a_message_naming_the_variable(string variable, string value)
    {
        var e = Assert.Throws<ServiceConfigurationException>(() => Parse((variable, value)));
        Assert.Equal(variable, e.Variable);
        Assert.StartsWith(variable + ":", e.Message);
    }

    [Fact]
    public void Outside_development_an_API_key_is_required()
    {
        var e = Assert.Throws<ServiceConfigurationException>(() => Parse(("AKKA_ENV", "production")));
        Assert.Equal("EVENTDRIVEN_API_KEYS", e.Variable);
        Assert.Single(Parse(("AKKA_ENV", "production"), ("EVENTDRIVEN_API_KEYS", "long-enough-key-0123456789:read")).ApiKeys);
    }
}
