using Akka.EventDriven.Hosting;
using Akka.Hosting;

namespace Akka.EventDriven.Http;

/// <summary>
/// One domain hosted by the standalone service (<c>Akka.EventDriven.Service</c>): the service loads every assembly named
/// in <c>EVENTDRIVEN_MODULES</c> and instantiates each public, non-abstract implementation with a parameterless
/// constructor, so one binary serves any number of domains. The same module can be added to an embedded host by hand.
/// <code>
/// public sealed class OrdersModule : IEventDrivenModule
/// {
///     public string Name =&gt; "orders";
///     public void Configure(EventDrivenOptions o) =&gt; o.RegisterTypes(typeof(Order).Assembly).AddAggregate(Order.Definition);
///     public void ConfigureHttp(EventDrivenHttpOptions o) =&gt; o.RouteCommands(Order.Definition, typeof(PlaceOrder));
/// }
/// </code>
/// </summary>
public interface IEventDrivenModule
{
    /// <summary>A short name for logs and errors, such as <c>orders</c>.</summary>
    string Name { get; }

    /// <summary>Registers the module's <c>[EventType]</c> types and its aggregates on the node.</summary>
    void Configure(EventDrivenOptions options);

    /// <summary>Routes the module's command types to its aggregates (<see cref="EventDrivenHttpOptions.RouteCommands{TState}"/>).</summary>
    void ConfigureHttp(EventDrivenHttpOptions options);

    /// <summary>Adds what runs beside the aggregates, on the node's actor system: projections
    /// (<c>builder.WithProjection(...)</c>), durable bus subscriptions, sagas, pipelines. Called after
    /// <c>WithEventDriven</c> and <c>WithEventBus</c>. Does nothing unless the module overrides it.</summary>
    void ConfigureAkka(AkkaConfigurationBuilder builder) { }
}
