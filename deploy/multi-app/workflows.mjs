// The two apps of deploy/docker-compose-multi-app.yaml, in one workflows module: each
// workflowd loads it and registers what its app ID (APP_ID) runs. Each app calls an activity
// of the other one by its app ID (Dapr 1.16 multi-app workflows), the way the Python SDK's
// `call_activity(..., app_id="shipping")` does.
//
//   orders:   placeOrder  -> reserveStock (orders) -> shipParcel (shipping) -> done
//   shipping: restock     -> orderSupplies (shipping) -> notifyBuyer (orders)
const app = process.env.APP_ID;

// -- orders ---------------------------------------------------------------------------------

async function* placeOrder(ctx, order) {
  const reserved = yield ctx.callActivity(reserveStock, order);
  const tracking = yield ctx.callActivity("shipParcel", reserved, { appId: "shipping" });
  return { ...reserved, tracking };
}

async function reserveStock(_ctx, order) {
  return { item: order.item, quantity: order.quantity ?? 1, reservedBy: app };
}

async function notifyBuyer(_ctx, supply) {
  return `buyers of ${supply.item} told (by ${app})`;
}

// -- shipping -------------------------------------------------------------------------------

async function shipParcel(_ctx, parcel) {
  return `TRACK-${parcel.item}-${parcel.quantity} (by ${app})`;
}

async function* restock(ctx, supply) {
  const ordered = yield ctx.callActivity(orderSupplies, supply);
  const notified = yield ctx.callActivity("notifyBuyer", supply, { appId: "orders" });
  return { ordered, notified };
}

async function orderSupplies(_ctx, supply) {
  return `${supply.quantity} x ${supply.item} ordered (by ${app})`;
}

export default (registry) => {
  if (app === "orders") registry.registerWorkflow(placeOrder).registerActivity(reserveStock).registerActivity(notifyBuyer);
  else if (app === "shipping") registry.registerWorkflow(restock).registerActivity(shipParcel).registerActivity(orderSupplies);
  else throw new Error(`deploy/multi-app/workflows.mjs serves the apps "orders" and "shipping"; APP_ID is ${JSON.stringify(app)}`);
};
