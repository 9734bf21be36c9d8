/** The API's version, in the OpenAPI document and `encoder-fleet --version`. */
export const API_VERSION = '0.1.0';
